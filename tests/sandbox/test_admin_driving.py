"""Driving a running sandbox: likes added to and removed from posts through the admin API and its
command-line client, while clients page (what the sensor and incremental tests need)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from sandbox_helpers import Client, featured


def test_added_likers_head_the_listing_newest_first(x_sandbox, client):
    post = featured(x_sandbox, 7)
    before = x_sandbox.admin.likers(post)
    first = x_sandbox.admin.add_likes(post, 3)
    second = x_sandbox.admin.add_likes(post, 2)
    assert len(set(first + second) | set(before)) == 12
    assert x_sandbox.admin.likers(post) == second + first + before
    assert [u["id"] for u in client.liking_users(post).json()["data"]] == second + first + before
    for user in first + second:  # the other listing agrees
        assert x_sandbox.admin.liked(user)[0] == post
    assert x_sandbox.admin.world()["featured_posts"][2]["likers"] == 12


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, all 1,000 likers (X lists 100)
def test_removed_likers_leave_both_listings(x_sandbox, client, user_client):
    post = featured(x_sandbox, 1000)
    likers = x_sandbox.admin.likers(post)
    assert x_sandbox.admin.remove_likes(post, 2) == likers[:2]
    assert x_sandbox.admin.remove_likes(post, user_ids=[likers[500]]) == [likers[500]]
    assert x_sandbox.admin.remove_likes(post, user_ids=[likers[500]]) == []  # no-op
    rest = likers[2:500] + likers[501:]
    assert [u["id"] for u in client.page_all(f"/2/tweets/{post}/liking_users", max_results=100)[0]] == rest
    assert post not in x_sandbox.admin.liked(likers[500])
    # a removed liker coming back is the newest one; fresh likers are never the removed ones
    assert x_sandbox.admin.add_likes(post, user_ids=[likers[0]]) == [likers[0]]
    fresh = x_sandbox.admin.add_likes(post, 4)
    assert not set(fresh) & set(likers)
    assert x_sandbox.admin.likers(post)[:5] == [*fresh, likers[0]]


def test_admin_changes_stay_visible_when_api_mutations_are_not(x_sandbox, user_client):
    x_sandbox.admin.set_quirks(mutations_visible=False)
    me, post = x_sandbox.user_id, featured(x_sandbox, 7)
    user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    added = x_sandbox.admin.add_likes(post, 2)
    assert [u["id"] for u in user_client.liking_users(post).json()["data"]][:2] == added
    assert len(user_client.liking_users(post).json()["data"]) == 9  # not mine
    x_sandbox.admin.reset()
    assert len(x_sandbox.admin.likers(post)) == 7


@pytest.mark.x_sandbox(liking_users_cap=None)  # pages past the 100 likers X lists
def test_likes_added_while_a_client_pages(x_sandbox, client):
    post = featured(x_sandbox, 333)
    first = client.liking_users(post, max_results=100).json()
    x_sandbox.admin.add_likes(post, 10)
    token = first["meta"]["next_token"]
    nxt = client.liking_users(post, max_results=100, pagination_token=token)
    assert nxt.status_code == 200  # a cursor stays valid while the likers change
    assert client.liking_users(post, max_results=1).json()["data"][0]["id"] == x_sandbox.admin.likers(post)[0]


def test_admin_errors(x_sandbox):
    url = f"{x_sandbox.url}/_sandbox/likers"
    assert requests.post(f"{url}/1", json={"count": 1}, timeout=30).status_code == 404
    post = featured(x_sandbox, 7)
    for payload in ({}, {"count": -1}, {"count": 1, "user_ids": ["12"]}, {"count": "many"}):
        assert requests.post(f"{url}/{post}", json=payload, timeout=30).status_code == 400, payload
    r = requests.post(f"{url}/{post}", json={"user_ids": ["12"]}, timeout=30)
    assert r.status_code == 404 and r.json()["ids"] == ["12"]
    assert requests.post(f"{x_sandbox.url}/_sandbox/reset", json={"nope": 1}, timeout=30).status_code == 400


def admin_cli(sandbox, *args: str) -> tuple[int, object]:
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_xlikes.sandbox", "admin", "--url", sandbox.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out.returncode, json.loads(out.stdout) if out.returncode == 0 else out.stderr


def test_the_command_line_admin_client(x_sandbox):
    post = featured(x_sandbox, 7)
    code, added = admin_cli(x_sandbox, "add-likes", post, "5")
    assert code == 0 and added["count"] == 12 and x_sandbox.admin.likers(post)[:5] == added["changed"]
    code, removed = admin_cli(x_sandbox, "remove-likes", post, "2")
    assert code == 0 and removed == {"changed": added["changed"][:2], "count": 10}
    assert admin_cli(x_sandbox, "likers", post)[1] == x_sandbox.admin.likers(post)
    assert admin_cli(x_sandbox, "quirks", "clean=true", "naming=post")[1]["naming"] == "post"
    assert x_sandbox.admin.quirks()["short_pages"] == 0
    assert admin_cli(x_sandbox, "clock", "60")[1] == {"offset": 60.0}
    assert admin_cli(x_sandbox, "faults", "status,count=2,status=502")[1][0]["status"] == 502
    assert Client(x_sandbox).liking_users(post).status_code == 502
    assert admin_cli(x_sandbox, "clear-faults")[1] == []
    assert admin_cli(x_sandbox, "reset", "--clean")[1]["empty_last_page"] == 0
    assert len(x_sandbox.admin.likers(post)) == 7
    code, message = admin_cli(x_sandbox, "add-likes", "1", "5")
    assert code == 1 and "unknown post" in str(message)
    code, _ = admin_cli(x_sandbox, "add-likes", post)
    assert code != 0


def test_every_command_line_admin_command_answers_on_listings_past_10_000(x_sandbox_factory):
    """A post with 10,000 likers and a user with 10,001 liked posts: no command fails with a 413."""
    sandbox = x_sandbox_factory(post_likes=["10000"], me_likes=10_001)
    post, me = featured(sandbox, 10_000), sandbox.user_id
    code, added = admin_cli(sandbox, "add-likes", post, "5")
    assert code == 0, added
    assert added["count"] == 10_005 and sandbox.admin.head("likers", post, 5)["ids"] == added["changed"]
    code, removed = admin_cli(sandbox, "remove-likes", post, "2")
    assert code == 0 and removed == {"changed": added["changed"][:2], "count": 10_003}
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_xlikes.sandbox", "admin", "--url", sandbox.url, "likers", post],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    likers = json.loads(out.stdout)
    assert len(likers) == 10_000 and likers[:3] == added["changed"][2:]
    assert "the newest 10,000 of 10,003" in out.stderr
    assert len(admin_cli(sandbox, "likers", post, "--limit", "20000")[1]) == 10_003
    code, liked = admin_cli(sandbox, "liked", me)
    assert code == 0 and len(liked) == 10_000
    for command in (["world"], ["requests"], ["quirks"], ["faults"], ["clear-faults"], ["clock", "1"], ["reset"]):
        code, answer = admin_cli(sandbox, *command)
        assert code == 0, (command, answer)
    # the admin API itself still refuses a whole listing past its limit, naming both ways out
    r = requests.get(f"{sandbox.url}/_sandbox/likers/{post}?limit=9999", timeout=30)
    assert r.status_code == 413 and "?head=" in r.json()["error"] and r.json()["count"] == 10_000
    assert requests.get(f"{sandbox.url}/_sandbox/likers/{post}?head=x", timeout=30).status_code == 400
