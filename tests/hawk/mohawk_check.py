"""Signs requests to identity's binaries with mohawk, the Hawk library the seed system and its
callers use, and checks every refusal the seed system makes: run by the end-to-end test
`hawk_with_mohawk` (tests/e2e/hawk.rs), which starts the binaries and passes their addresses.

    python mohawk_check.py CONFIG.json

CONFIG: {"id", "key", "scim": URL, "api": URL, "profile": URL, "profile_replica": URL,
         "user_name": a userName to create}. Prints one line per check; exits non-zero on the
first that fails.
"""

import json
import sys
import time
import urllib.error
import urllib.request

import mohawk
from mohawk.base import EmptyValue

UNAUTHORIZED = {"detail": "Unauthorized"}
SCIM_TYPE = "application/scim+json"
# The name the load balancer answers to: both replicas are signed for it, as behind one.
SHARED_HOST = "sso-profile.identity.internal"


def send(base, path, header, method="GET", body=None, content_type=None, host=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if header is not None:
        req.add_header("Authorization", header)
    if content_type is not None:
        req.add_header("Content-Type", content_type)
    if host is not None:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def sign(creds, url, method="GET", content=b"", content_type="", **options):
    return mohawk.Sender(creds, url, method, content=content, content_type=content_type, **options).request_header


def check(what, got, status, body=None):
    ok = got[0] == status and (body is None or got[1] == body)
    print(("ok   " if ok else "FAIL ") + f"{what}: {got[0]} {json.dumps(got[1])[:120]}")
    if not ok:
        sys.exit(1)


def main():
    config = json.load(open(sys.argv[1]))
    creds = {"id": config["id"], "key": config["key"], "algorithm": "sha256"}
    scim, api, profile, replica = config["scim"], config["api"], config["profile"], config["profile_replica"]
    user_name = config["user_name"]

    # Valid requests, signed as the seed system's callers sign them.
    body = json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Hawk", "familyName": "Caller"},
        "emails": [{"value": f"{user_name}@example.gov.uk", "primary": True}],
    }).encode()
    users = scim + "/scim/v2/Users"
    header = sign(creds, users, "POST", body, SCIM_TYPE)
    check("sso-scim: a signed create", send(scim, "/scim/v2/Users", header, "POST", body, SCIM_TYPE), 201)
    listed = "/api/v1/people?limit=1"
    check("api: a signed read", send(api, listed, sign(creds, api + listed)), 200)
    path = f"/api/sso/{user_name}"
    deadline = time.time() + 10
    while True:
        got = send(profile, path, sign(creds, profile + path))
        if got[0] == 200 or time.time() > deadline:
            break
        time.sleep(0.1)
    check("sso-profile: a signed sign-in", got, 200)

    # Every refusal answers 401 with the same body.
    good = sign(creds, profile + path)
    parts = good.split('mac="')
    forged = parts[0] + 'mac="' + ("A" if parts[1][0] != "A" else "B") + parts[1][1:]
    check("a wrong MAC", send(profile, path, forged), 401, UNAUTHORIZED)
    other = dict(creds, id="someone-else")
    check("a wrong key id", send(profile, path, sign(other, profile + path)), 401, UNAUTHORIZED)
    stale = int(time.time()) - 120
    check("a stale timestamp", send(profile, path, sign(creds, profile + path, _timestamp=stale)), 401, UNAUTHORIZED)
    future = int(time.time()) + 120
    check("a future timestamp", send(profile, path, sign(creds, profile + path, _timestamp=future)), 401, UNAUTHORIZED)
    once = sign(creds, profile + path)
    check("a fresh nonce", send(profile, path, once), 200)
    check("the same nonce again", send(profile, path, once), 401, UNAUTHORIZED)
    shared = sign(creds, f"http://{SHARED_HOST}{path}")
    check("signed for the load balancer's name", send(profile, path, shared, host=SHARED_HOST), 200)
    check("the same nonce at a second replica", send(replica, path, shared, host=SHARED_HOST), 401, UNAUTHORIZED)
    query = "/api/v1/people?limit=1"
    signed_query = sign(creds, api + query)
    check("a changed query string", send(api, "/api/v1/people?limit=2", signed_query), 401, UNAUTHORIZED)
    # A header signed over no content, then sent with a body.
    unhashed = sign(creds, users, "POST", EmptyValue, EmptyValue, always_hash_content=False)
    check("a body without a hash", send(scim, "/scim/v2/Users", unhashed, "POST", body, SCIM_TYPE), 401, UNAUTHORIZED)
    changed = body.replace(b"Caller", b"Changed")
    header = sign(creds, users, "POST", body, SCIM_TYPE)
    check("a changed body", send(scim, "/scim/v2/Users", header, "POST", changed, SCIM_TYPE), 401, UNAUTHORIZED)
    header = sign(creds, users, "POST", body, SCIM_TYPE)
    check("a different content type", send(scim, "/scim/v2/Users", header, "POST", body, "application/json"), 401,
          UNAUTHORIZED)
    huge = sign(creds, profile + path, ext="x" * 5000)
    check("a header over 4 KiB", send(profile, path, huge), 401, UNAUTHORIZED)
    check("no signature at all", send(profile, path, None), 401, UNAUTHORIZED)
    # Parameters of the content type are not signed (mohawk drops them), and its case is not either.
    header = sign(creds, users, "POST", body.replace(user_name.encode(), b"x" + user_name.encode()), SCIM_TYPE)
    got = send(scim, "/scim/v2/Users", header, "POST", body.replace(user_name.encode(), b"x" + user_name.encode()),
               "Application/SCIM+json; charset=utf-8")
    check("a content type with parameters and capitals", got, 201)
    print("mohawk: every check passed")


if __name__ == "__main__":
    main()
