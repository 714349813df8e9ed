from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .models import Role
from .navigation import links_for

# What each role comes to Linkwork for, shown above their links.
INTRODUCTIONS = {
    Role.LINK_WORKER: "Your caseload: the children in your schools, their support plans, "
    "interactions, follow-ups and allocations to partners.",
    Role.PARTNER: "Your sessions and registers, and the children allocated to your services.",
    Role.SCHOOL_STAFF: "Your school's shortlist to review and your pupils' progress.",
    Role.MANAGER: "Screening, cohorts, partners, contracts, claims and reports for the zone.",
    Role.FUNDER: "Claims addressed to you appear here, with aggregate outcome reports. "
    "Linkwork never shows funders any child's details.",
    Role.ADMIN: "Users, roles, consent records, subject access, erasure, retention and the "
    "audit trail.",
}


@login_required
@require_GET
def home(request):
    links = [link for link in links_for(request.user, request.path) if link["name"] != "home"]
    return render(
        request,
        "accounts/home.html",
        {"introduction": INTRODUCTIONS.get(request.user.role, ""), "links": links},
    )
