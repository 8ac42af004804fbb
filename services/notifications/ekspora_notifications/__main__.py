from ekspora_kit.serve import serve
from ekspora_notifications.app import create_app
from ekspora_notifications.settings import NotificationsSettings

serve(NotificationsSettings(), create_app)
