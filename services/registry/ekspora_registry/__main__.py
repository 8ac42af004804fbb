from ekspora_kit.serve import serve
from ekspora_registry.app import create_app
from ekspora_registry.settings import RegistrySettings

serve(RegistrySettings(), create_app)
