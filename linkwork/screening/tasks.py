"""Background work for uploads: thin tasks taking IDs and calling services."""

from django_tasks import task

from .services import check_upload, load_upload


@task()
def check_upload_task(upload_id: int) -> str:
    """Check an upload with the package loader's dry run."""
    return check_upload(upload_id=upload_id).status


@task()
def load_upload_task(upload_id: int) -> str:
    """Load a checked upload."""
    return load_upload(upload_id=upload_id).status
