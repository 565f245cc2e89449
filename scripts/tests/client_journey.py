"""A buyer's journey through a client generated from the OpenAPI document (scripts/tests/client_test.sh).

Usage: client_journey.py BASE_URL CLIENT_DIR. CLIENT_DIR holds the package `lyceum_client`
that openapi-python-client generated. Every call goes through the generated functions and
models (never raw HTTP), with `raise_on_unexpected_status`, so an answer whose status the
document does not declare fails the journey; each step prints one TAP line.

register -> log in -> list courses -> read a course with a run on sale -> buy a seat
(Idempotency-Key) -> pay -> review the course.
"""

import datetime
import sys
import uuid

BASE, CLIENT_DIR = sys.argv[1], sys.argv[2]
sys.path.insert(0, CLIENT_DIR)

# The generated package (not importable before the path is set).
from lyceum_client import AuthenticatedClient, Client  # noqa: E402
from lyceum_client.api.auth import login, register  # noqa: E402
from lyceum_client.api.catalog import course, list_courses  # noqa: E402
from lyceum_client.api.purchases import create, pay  # noqa: E402
from lyceum_client.api.reviews import create_review  # noqa: E402
from lyceum_client.models import (  # noqa: E402
    LoginRequest,
    PlanCode,
    PurchaseRequest,
    PurchaseStatus,
    RegisterRequest,
    ReviewCreateRequest,
)

step = 0


def expect(description, response, status):
    """One TAP line: the call answered `status` with a parsed body; returns the body."""
    global step
    step += 1
    good = response.status_code == status and response.parsed is not None
    print(f"{'ok' if good else 'not ok'} {step} - {description} ({response.status_code})")
    if not good:
        print(f"# body: {response.content[:500]!r}")
        print(f"{step - 1} passed, 1 failed")
        sys.exit(1)
    return response.parsed


anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)
email = f"journey-{uuid.uuid4().hex[:12]}@example.com"
password = "journey-password"

registered = expect(
    "register a new account",
    register.sync_detailed(
        client=anonymous,
        body=RegisterRequest(
            email=email,
            password=password,
            first_name="Grace",
            last_name="Hopper",
            birth_date=datetime.date(1990, 12, 9),
        ),
    ),
    201,
)
assert registered.user.email == email, registered.user.email

token = expect(
    "log in", login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=password)), 200
)
buyer = AuthenticatedClient(base_url=BASE, token=token.access_token, raise_on_unexpected_status=True)

page = expect("list the courses", list_courses.sync_detailed(client=buyer, page_size=50), 200)
on_sale = None
today = datetime.date.today()
for summary in page.items:
    detail = course.sync_detailed(summary.id, client=buyer).parsed
    runs = [r for r in detail.upcoming_runs if r.seats_left > 0 and r.sales_end_date >= today]
    if runs:
        on_sale = (detail, runs[0])
        break
if on_sale is None:
    print(f"not ok {step + 1} - no course of the first page has a run on sale")
    print(f"{step} passed, 1 failed")
    sys.exit(1)
detail, run = on_sale
expect("read the course page", course.sync_detailed(detail.id, client=buyer), 200)

purchase = expect(
    "buy a seat in an upcoming run",
    create.sync_detailed(
        client=buyer,
        body=PurchaseRequest(course_run_id=run.id, plan=PlanCode.BASIC),
        idempotency_key=str(uuid.uuid4()),
    ),
    201,
)
assert purchase.status == PurchaseStatus.PENDING, purchase.status

paid = expect("pay for it", pay.sync_detailed(purchase.id, client=buyer), 200)
assert paid.status == PurchaseStatus.PAID, paid.status

review = expect(
    "review the course",
    create_review.sync_detailed(
        detail.id, client=buyer, body=ReviewCreateRequest(rating=5, body="Generated clients work.")
    ),
    201,
)
assert review.rating == 5 and review.course_id == detail.id, review
print(f"{step} passed, 0 failed")
