from ekspora_kit.serve import serve
from ekspora_matching.app import create_app
from ekspora_matching.settings import MatchingSettings

serve(MatchingSettings(), create_app)
