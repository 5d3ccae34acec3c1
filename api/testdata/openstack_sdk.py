#!/usr/bin/python3
"""Drives imgward with Debian's openstacksdk, as api/openstack_test.go asks.

usage: openstack_sdk.py keystone AUTH_URL PASSWORD IMAGE_FILE
       openstack_sdk.py token ENDPOINT OWNER_TOKEN MEMBER_TOKEN MEMBER_PROJECT IMAGE_FILE

With keystone, the owner is alice and the member bob, each a Keystone user
with a password; with token, each is an imgward token and the endpoint is
imgward's URL without /v2. Prints one JSON object of what it saw; the Go
test checks it. Any failure raises, and the exit status is not 0.
"""
import hashlib
import json
import sys

import openstack


def keystone(url, user, password):
    return openstack.connect(auth_url=url, username=user, password=password, project_name=user,
                             user_domain_name="Default", project_domain_name="Default",
                             region_name="RegionOne", identity_api_version="3")


def token(endpoint, tok):
    return openstack.connect(auth_type="admin_token", auth={"endpoint": endpoint, "token": tok},
                             image_endpoint_override=endpoint)


def main():
    mode = sys.argv[1]
    if mode == "keystone":
        url, pw, path = sys.argv[2:5]
        a, b = keystone(url, "alice", pw), keystone(url, "bob", pw)
        member = b.current_project_id
    else:
        endpoint, ta, tb, member, path = sys.argv[2:7]
        a, b = token(endpoint, ta), token(endpoint, tb)
    data = open(path, "rb").read()
    out = {}
    img = a.image.create_image(name="sdk-1", disk_format="raw", container_format="bare",
                               data=open(path, "rb"), tags=["sdk"], validate_checksum=False,
                               os_distro="debian")
    img = a.image.get_image(img.id)
    out["status"], out["size"] = img.status, img.size
    a.image.create_image(name="sdk-0", disk_format="raw", container_format="bare", allow_duplicates=True)
    out["sorted"] = [i.name for i in a.image.images(sort_key="name", sort_dir="asc") if i.name.startswith("sdk-")]
    out["tagged"] = [i.name for i in a.image.images(tag="sdk")]
    a.image.update_image(img, name="sdk-one", min_disk=3)
    a.image.add_tag(img, "extra")
    a.image.remove_tag(img, "sdk")
    img = a.image.get_image(img.id)
    out["name"], out["min_disk"], out["tags"] = img.name, img.min_disk, sorted(img.tags)
    got = a.image.download_image(img).content
    out["owner_download"] = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    a.image.add_member(img, member_id=member)
    b.image.update_member(member, img, status="accepted")
    out["members"] = [(m.member_id, m.status) for m in a.image.members(img)]
    got = b.image.download_image(img.id).content
    out["member_download"] = got == data
    a.image.remove_member(member, img)
    out["after_remove"] = [m.member_id for m in a.image.members(img)]
    for i in list(a.image.images()):
        if i.name.startswith("sdk-"):
            a.image.delete_image(i)
    out["left"] = [i.name for i in a.image.images() if i.name.startswith("sdk-")]
    print(json.dumps(out))


main()
