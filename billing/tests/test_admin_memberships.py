"""Memberships in the back office are saved by the workspace services, as the
bootstrap saves them: a workspace keeps an owner (only owners set what its documents
print), and a membership stays the same user in the same workspace."""

import pytest
from django.urls import reverse

from billing.models import Membership
from billing.tests.admin_helpers import rendered_form_data
from billing.tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_a_membership_is_added(admin_client):
    workspace, user = WorkspaceFactory(), UserFactory()
    url = reverse("admin:billing_membership_add")

    response = admin_client.post(
        url,
        rendered_form_data(
            admin_client.get(url), workspace=workspace.pk, user=user.pk, role="owner"
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.get(workspace=workspace, user=user).role == "owner"


def test_the_last_owner_is_not_demoted(admin_client):
    owner = MembershipFactory(role="owner")
    MembershipFactory(workspace=owner.workspace, role="member")
    url = reverse("admin:billing_membership_change", args=[owner.pk])

    response = admin_client.post(url, rendered_form_data(admin_client.get(url), role="member"))

    assert response.status_code == 200
    assert "last owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_an_owner_is_demoted_while_another_remains(admin_client):
    owner = MembershipFactory(role="owner")
    MembershipFactory(workspace=owner.workspace, role="owner")
    url = reverse("admin:billing_membership_change", args=[owner.pk])

    response = admin_client.post(url, rendered_form_data(admin_client.get(url), role="member"))

    assert response.status_code == 302, response.content.decode()[:2000]
    owner.refresh_from_db()
    assert owner.role == "member"


def test_the_last_owner_is_not_removed(admin_client):
    owner = MembershipFactory(role="owner")
    MembershipFactory(workspace=owner.workspace, role="member")
    url = reverse("admin:billing_membership_delete", args=[owner.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "last owner" in page.content.decode()
    assert response.status_code == 200
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_the_last_owner_is_not_removed_in_bulk(admin_client):
    owner = MembershipFactory(role="owner")
    member = MembershipFactory(workspace=owner.workspace, role="member")

    response = admin_client.post(
        reverse("admin:billing_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [owner.pk, member.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk__in=[owner.pk, member.pk]).count() == 2


def test_a_member_is_removed(admin_client):
    MembershipFactory(role="owner")
    member = MembershipFactory(role="member")

    response = admin_client.post(
        reverse("admin:billing_membership_delete", args=[member.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_a_membership_keeps_its_user_and_workspace(admin_client):
    membership = MembershipFactory(role="member")
    other_user, other_workspace = UserFactory(), WorkspaceFactory()
    url = reverse("admin:billing_membership_change", args=[membership.pk])

    response = admin_client.post(
        url,
        rendered_form_data(admin_client.get(url), user=other_user.pk, workspace=other_workspace.pk),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    membership.refresh_from_db()
    assert (membership.user_id, membership.workspace_id) != (other_user.pk, other_workspace.pk)


def test_the_workspace_page_lists_members_without_writing_them(admin_client):
    owner = MembershipFactory(role="owner")
    url = reverse("admin:billing_workspace_change", args=[owner.workspace.pk])
    page = admin_client.get(url)
    data = rendered_form_data(page)
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    # A row a browser could not render (no editable row): posted by hand.
    data |= {
        f"{prefix}-TOTAL_FORMS": "2",
        f"{prefix}-1-user": UserFactory().pk,
        f"{prefix}-1-role": "owner",
        f"{prefix}-0-role": "member",
        f"{prefix}-0-DELETE": "on",
    }

    admin_client.post(url, data)

    owner.refresh_from_db()
    assert owner.role == "owner"
    assert owner.workspace.memberships.count() == 1


def test_every_owner_is_not_removed_together(admin_client):
    first = MembershipFactory(role="owner")
    second = MembershipFactory(workspace=first.workspace, role="owner")

    response = admin_client.post(
        reverse("admin:billing_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
