"""In-app notifications: the header count, the inbox, open and mark read — one's own only."""

from __future__ import annotations

import datetime as dt
import uuid

from flask.testing import FlaskClient
from sqlalchemy import select

from lims.auth.identity import Identity
from lims.db.uow import UnitOfWork
from lims.models import Notification
from tests.factories import make_user
from tests.integration.web.conftest import csrf_token, log_in


def _notify(
    uow: UnitOfWork,
    user: Identity,
    subject: str,
    object_type: str = "run",
    age: dt.timedelta = dt.timedelta(0),
) -> uuid.UUID:
    item = Notification(
        created_at=dt.datetime.now(dt.UTC) - age,
        user_id=user.user_id,
        subject=subject,
        body="details of what happened",
        object_type=object_type,
        object_id=uuid.uuid4(),
    )
    uow.session.add(item)
    uow.session.flush()
    return item.id


def _read_at(uow: UnitOfWork, notification_id: uuid.UUID) -> object:
    uow.session.expire_all()
    return uow.session.scalar(
        select(Notification.read_at).where(Notification.id == notification_id)
    )


def test_header_counts_unread_and_inbox_lists_them(
    logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity
) -> None:
    _notify(uow, scientist, "Run 1a2b (segment) succeeded", age=dt.timedelta(minutes=5))
    _notify(uow, scientist, "Run 3c4d (segment) failed")

    page = logged_in.get("/projects").get_data(as_text=True)
    assert 'aria-label="2 unread"' in page

    inbox = logged_in.get("/notifications").get_data(as_text=True)
    assert "Run 1a2b (segment) succeeded" in inbox
    assert "Run 3c4d (segment) failed" in inbox
    assert inbox.index("3c4d") < inbox.index("1a2b"), "newest first"


def test_opening_marks_read_and_goes_to_the_record(
    logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity
) -> None:
    notification_id = _notify(uow, scientist, "Run finished")
    token = csrf_token(logged_in, "/notifications")

    response = logged_in.post(f"/notifications/{notification_id}/open", data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/runs/")
    assert _read_at(uow, notification_id) is not None
    assert ' unread"' not in logged_in.get("/projects").get_data(as_text=True)
    unread = logged_in.get("/notifications?show=unread").get_data(as_text=True)
    assert "No unread notifications." in unread


def test_mark_all_read(logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity) -> None:
    first = _notify(uow, scientist, "one")
    second = _notify(uow, scientist, "two", object_type="unknown-kind")
    token = csrf_token(logged_in, "/notifications")

    response = logged_in.post("/notifications/read", data={"csrf_token": token})

    assert response.status_code == 302
    assert _read_at(uow, first) is not None
    assert _read_at(uow, second) is not None
    assert "2 notifications marked read." in logged_in.get("/notifications").get_data(as_text=True)


def test_another_persons_notification_is_not_found_and_stays_unread(
    logged_in: FlaskClient, uow: UnitOfWork
) -> None:
    other = make_user(uow, "someone-else")
    theirs = _notify(uow, other, "their run finished")
    token = csrf_token(logged_in, "/notifications")

    response = logged_in.post(f"/notifications/{theirs}/open", data={"csrf_token": token})

    assert response.status_code == 404
    assert _read_at(uow, theirs) is None
    assert "their run finished" not in logged_in.get("/notifications").get_data(as_text=True)


def test_open_without_csrf_token_is_refused(
    logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity
) -> None:
    notification_id = _notify(uow, scientist, "Run finished")

    response = logged_in.post(f"/notifications/{notification_id}/open")

    assert response.status_code == 400
    assert _read_at(uow, notification_id) is None


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/notifications")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_someone_with_notifications_sees_only_theirs(
    client: FlaskClient, uow: UnitOfWork, scientist: Identity
) -> None:
    other = make_user(uow, "colleague")
    _notify(uow, scientist, "mine")
    _notify(uow, other, "for the colleague")
    assert log_in(client, "colleague").status_code == 302

    inbox = client.get("/notifications").get_data(as_text=True)

    assert "for the colleague" in inbox
    assert "mine" not in inbox


def test_a_failed_report_notice_opens_the_version_it_was_for(
    logged_in: FlaskClient, uow: UnitOfWork, scientist: Identity
) -> None:
    notification_id = _notify(uow, scientist, "Report failed", object_type="dataset_version")
    object_id = uow.session.get(Notification, notification_id).object_id
    token = csrf_token(logged_in, "/notifications")

    response = logged_in.post(f"/notifications/{notification_id}/open", data={"csrf_token": token})

    assert response.headers["Location"] == f"/versions/{object_id}"
