from django.shortcuts import get_object_or_404

from .models import Pupil


def child_for(user, pk: int) -> Pupil:
    """The pupil with this id if `user` may see them, else 404."""
    return get_object_or_404(Pupil.objects.visible_to(user).select_related("school"), pk=pk)
