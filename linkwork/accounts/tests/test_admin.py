import pytest
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.schools.models import School


@pytest.mark.django_db
def test_anonymous_admin_goes_to_linkwork_sign_in(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    login = client.get(response["Location"], follow=True)
    assert login.redirect_chain[-1][0].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "link_worker", "partner_user", "funder"])
def test_non_staff_are_refused_the_admin(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    for url in (reverse("admin:index"), reverse("admin:schools_school_changelist")):
        response = client.get(url, follow=True)
        assert response.status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [
        "schools_area",
        "schools_school",
        "people_cohort",
        "support_partner",
        "support_service",
        "accounts_user",
        "audit_auditentry",
    ],
)
def test_staff_see_reference_data_in_the_admin(client, admin_user, model):
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200


@pytest.mark.django_db
def test_admin_writes_are_audited(client, admin_user, area):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:schools_school_add"),
        {"urn": "123456", "name": "Brookside Primary", "phase": "primary", "area": area.pk},
    )
    assert response.status_code == 302
    school = School.objects.get(urn="123456")
    added = AuditEntry.objects.get(action="admin.school.added")
    assert added.actor == admin_user and added.object_id == str(school.pk)
    assert added.changes["name"] == "Brookside Primary"

    client.post(reverse("admin:schools_school_delete", args=[school.pk]), {"post": "yes"})
    assert not School.objects.filter(urn="123456").exists()
    deleted = AuditEntry.objects.get(action="admin.school.deleted")
    assert deleted.object_id == str(school.pk)


@pytest.mark.django_db
def test_admin_user_creation_is_audited_without_the_password(client, admin_user, school):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new-lw@example.org",
            "name": "Noor Worker",
            "role": "link_worker",
            "usable_password": "true",
            "password1": "a-long-demo-pass-9",
            "password2": "a-long-demo-pass-9",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="admin.user.added")
    assert entry.changes["password1"] == "(changed)"
    assert "a-long-demo-pass-9" not in str(entry.changes)


@pytest.mark.django_db
def test_audit_entries_are_read_only_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
