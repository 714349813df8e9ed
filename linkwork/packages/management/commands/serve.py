from django.core.management.base import BaseCommand, CommandError
from django.db import connections


def run_server(*, bind: str, workers: int, timeout: int = 60) -> None:
    """Serve Linkwork with gunicorn until stopped (Ctrl-C or SIGTERM)."""
    from gunicorn.app.base import BaseApplication

    class LinkworkServer(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", timeout)
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "linkwork")
            if "control_socket_disable" in self.cfg.settings:  # gunicorn 25.1 and later
                self.cfg.set("control_socket_disable", True)

        def load(self):
            from linkwork.config.wsgi import application

            return application

    # Workers are forked: none may inherit the parent's database connections.
    connections.close_all()
    LinkworkServer().run()


class Command(BaseCommand):
    help = (
        "Serve Linkwork with gunicorn, the production WSGI server. Static files are served by "
        "whitenoise from STATIC_ROOT, so run `linkwork collectstatic` first (after every "
        "upgrade). Put it behind an HTTPS proxy in production (see docs/demo.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="address:port to listen on (127.0.0.1:8000)"
        )
        parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
        parser.add_argument(
            "--timeout", type=int, default=60, help="seconds before a stuck worker is restarted"
        )

    def handle(self, *args, bind, workers, timeout, **options):
        if workers < 1:
            raise CommandError("--workers: must be at least 1")
        run_server(bind=bind, workers=workers, timeout=timeout)
