import uvicorn

from ekspora_console.app import create_app
from ekspora_console.settings import ConsoleSettings
from ekspora_kit.logs import configure_logging

settings = ConsoleSettings()
configure_logging(settings.service, settings.instance, settings.log_level)
uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
