from ekspora_kit.serve import serve
from ekspora_shipping.app import create_app
from ekspora_shipping.settings import ShippingSettings

serve(ShippingSettings(), create_app)
