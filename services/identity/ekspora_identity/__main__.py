from ekspora_identity.app import create_app
from ekspora_identity.settings import IdentitySettings
from ekspora_kit.serve import serve

serve(IdentitySettings(), create_app)
