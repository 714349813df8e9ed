from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from linkwork.accounts.models import Role
from linkwork.core.documents import DocumentError

from .models import EngagementRules
from .queries import current_rules
from .services import save_rules


class RulesForm(forms.Form):
    source = forms.CharField(
        label="engagement.yaml",
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def rules(request):
    """The engagement rules document: a manager edits it; a bad one is refused with lines."""
    if request.user.role not in (Role.MANAGER, Role.ADMIN):
        raise Http404("Not a page for this role.")
    version, rule_set, source = current_rules()
    form = RulesForm(request.POST or None, initial={"source": source})
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_rules(actor=request.user, source=form.cleaned_data["source"])
        except DocumentError as invalid:
            errors = invalid.errors
        else:
            messages.success(request, f"Engagement rules version {saved.version} saved.")
            return redirect("engagement:rules")
    history = EngagementRules.objects.select_related("saved_by")[:20]
    return render(
        request,
        "engagement/rules.html",
        {
            "form": form,
            "errors": errors,
            "version": version,
            "rules": rule_set.rules,
            "history": history,
        },
    )
