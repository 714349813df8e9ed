from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linkwork.audit.services import record_view

from .models import Pupil
from .queries import child_for


@login_required
@require_GET
def child_list(request):
    pupils = Pupil.objects.visible_to(request.user).select_related("school")[:50]
    return render(request, "people/child_list.html", {"pupils": pupils})


@login_required
@require_GET
def child_detail(request, pk):
    pupil = child_for(request.user, pk)
    record_view(actor=request.user, pupil=pupil)
    return render(request, "people/child_detail.html", {"pupil": pupil})
