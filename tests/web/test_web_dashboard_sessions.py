"""The dashboard's session store: bounded, expiring, and discreet about tokens."""

from __future__ import annotations

from web.dashboard.sessions import SESSION_LIFETIME, SessionStore, same_secret


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_found_by_its_id_until_it_expires() -> None:
    clock = Clock()
    store = SessionStore(clock=clock)
    session = store.create("secret-token", "admin", None)
    assert store.get(session.id) is session
    assert session.expires == clock.now + SESSION_LIFETIME
    clock.now = session.expires - 1
    assert store.get(session.id) is session
    clock.now = session.expires
    assert store.get(session.id) is None
    assert len(store) == 0


def test_a_session_ends_no_later_than_its_token() -> None:
    clock = Clock()
    store = SessionStore(clock=clock)
    session = store.create("secret-token", "admin", clock.now + 60)
    assert session.expires == clock.now + 60
    clock.now += 61
    assert store.get(session.id) is None


def test_the_store_is_bounded_and_forgets_the_session_that_would_expire_first() -> None:
    clock = Clock()
    store = SessionStore(max_sessions=3, clock=clock)
    short = store.create("t1", "a", clock.now + 10)
    kept = [store.create(f"t{i}", "a", None) for i in range(2, 4)]
    newest = store.create("t4", "a", None)
    assert len(store) == 3
    assert store.get(short.id) is None
    assert all(store.get(s.id) is s for s in [*kept, newest])


def test_expired_sessions_are_swept_when_a_new_one_is_made() -> None:
    clock = Clock()
    store = SessionStore(clock=clock)
    for _ in range(5):
        store.create("t", "a", clock.now + 1)
    clock.now += 2
    store.create("t", "a", None)
    assert len(store) == 1


def test_sign_out_forgets_the_session() -> None:
    store = SessionStore()
    session = store.create("t", "a", None)
    store.drop(session.id)
    store.drop(None)
    store.drop("unknown")
    assert store.get(session.id) is None


def test_identifiers_and_csrf_tokens_are_random_and_secrets_stay_out_of_repr() -> None:
    store = SessionStore()
    one, two = store.create("secret-token", "a", None), store.create("secret-token", "a", None)
    assert len({one.id, two.id, one.csrf, two.csrf}) == 4
    assert len(one.id) >= 40
    text = repr(one)
    assert "secret-token" not in text
    assert one.id not in text
    assert one.csrf not in text


def test_csrf_comparison() -> None:
    assert same_secret("abc", "abc")
    assert not same_secret("abd", "abc")
    assert not same_secret(None, "abc")
    assert not same_secret("", "abc")
