from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from linkwork.accounts.models import Role
from linkwork.core.documents import DocumentError

from .documents import parse_instrument
from .forms import InstrumentForm
from .models import Instrument
from .services import store_instrument


@login_required
@require_http_methods(["GET", "POST"])
def instruments(request):
    """The instruments in use (latest versions) and a form to load a new definition."""
    if request.user.role != Role.MANAGER:
        raise PermissionDenied
    form = InstrumentForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        source = form.cleaned_data["source"]
        try:
            document = parse_instrument(source, filename=form.cleaned_data["filename"])
        except DocumentError as exc:
            problems = exc.errors
        else:
            if isinstance(source, bytes):
                source = source.decode("utf-8-sig")
            stored = store_instrument(actor=request.user, document=document, source=source)
            messages.success(request, f"{stored.code} version {stored.version} in use.")
            return redirect("measures:instruments")
    latest = {}
    for instrument in Instrument.objects.order_by("code", "-version"):
        latest.setdefault(instrument.code, instrument)
    return render(
        request,
        "measures/instruments.html",
        {
            "instruments": list(latest.values()),
            "form": form,
            "problems": problems,
        },
    )
