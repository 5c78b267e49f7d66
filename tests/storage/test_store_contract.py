"""One contract for every Store (local directory and S3), plus the S3-only behaviour: URLs, auth, outages."""
from __future__ import annotations

import socket
import time

import httpx
import pytest

from common.errors import StorageUnavailable
from storage.s3_store import S3Store
from storage.store import AlreadyExists, Blob, NotFound
from tests.support.seaweed import seaweed_server


def test_write_read_round_trip_with_etag(store):
    etag = store.write("voices/a/voice.json", b'{"name": "a"}', "application/json")
    assert etag and '"' not in etag
    assert store.read("voices/a/voice.json") == Blob(b'{"name": "a"}', etag)
    etag2 = store.write("voices/a/voice.json", b'{"name": "b"}', "application/json")
    assert etag2 != etag
    assert store.read("voices/a/voice.json") == Blob(b'{"name": "b"}', etag2)


def test_read_missing_key_is_not_found(store):
    with pytest.raises(NotFound):
        store.read("voices/nobody/voice.json")


def test_read_if_changed(store):
    etag = store.write("index.json", b"[1]", "application/json")
    assert store.read_if_changed("index.json", etag) is None
    etag2 = store.write("index.json", b"[1, 2]", "application/json")
    assert store.read_if_changed("index.json", etag) == Blob(b"[1, 2]", etag2)
    assert store.read_if_changed("index.json", etag2) is None


def test_write_if_absent_twice(store):
    etag = store.write("voices/c/ref.wav", b"first", "audio/wav", if_absent=True)
    with pytest.raises(AlreadyExists):
        store.write("voices/c/ref.wav", b"second", "audio/wav", if_absent=True)
    assert store.read("voices/c/ref.wav") == Blob(b"first", etag)


def test_delete(store):
    store.write("voices/d/voice.json", b"{}")
    store.write("voices/d/ref.wav", b"RIFF")
    store.delete("voices/d/voice.json")
    with pytest.raises(NotFound):
        store.read("voices/d/voice.json")
    assert store.read("voices/d/ref.wav").data == b"RIFF"
    store.delete("voices/d/voice.json")  # missing: no error
    assert store.list("voices/") == ["voices/d/ref.wav"]


def test_delete_missing_key_under_missing_directory(store):
    store.write("voices/e/voice.json", b"{}")
    store.write("voices/f/voice.json", b"kept")
    store.delete("voices/e/voice.json")  # the local store tidies voices/e away
    store.delete("voices/e/voice.json")
    store.delete("never/written.bin")
    with pytest.raises(NotFound):
        store.read("voices/e/voice.json")
    assert store.list("") == ["voices/f/voice.json"]
    assert store.read("voices/f/voice.json").data == b"kept"
    etag = store.write("voices/e/voice.json", b"again", if_absent=True)   # the key is free again
    assert store.read("voices/e/voice.json") == Blob(b"again", etag)


def test_list_with_prefix(store):
    for key in ["voices/a/voice.json", "voices/a/ref.wav", "voices/b/voice.json", "voicesx/z.json", "other.json"]:
        store.write(key, b"x")
    assert store.list("voices/") == ["voices/a/ref.wav", "voices/a/voice.json", "voices/b/voice.json"]
    assert store.list("voices/a/") == ["voices/a/ref.wav", "voices/a/voice.json"]
    assert store.list("voices") == ["voices/a/ref.wav", "voices/a/voice.json", "voices/b/voice.json", "voicesx/z.json"]
    assert store.list("nothing/") == []
    assert len(store.list("")) == 5


def test_keys_are_isolated_by_prefix(store_at):
    lib, lib2, other = store_at("lib"), store_at("lib2"), store_at("other")
    lib.write("voices/a/voice.json", b"lib")
    lib2.write("voices/b/voice.json", b"lib2")
    assert lib.list("") == ["voices/a/voice.json"]
    assert lib2.list("") == ["voices/b/voice.json"]
    assert other.list("") == []
    with pytest.raises(NotFound):
        other.read("voices/a/voice.json")
    assert lib.uri != lib2.uri


# --- S3 only ---------------------------------------------------------------------------------------------


def test_s3_uri_has_no_credentials(s3_store, seaweed):
    assert s3_store.uri.startswith("s3://test-") and s3_store.uri.endswith("/lib")
    assert seaweed.access_key not in s3_store.uri and seaweed.secret_key not in s3_store.uri


def test_presigned_url_serves_bytes_and_headers(s3_store):
    data = bytes(range(256)) * 40
    s3_store.write("out/job-1/speech.mp3", data, "audio/mpeg", filename="speech.mp3")
    url = s3_store.presign("out/job-1/speech.mp3", 60)
    resp = httpx.get(url, timeout=10)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-type"] == "audio/mpeg"
    assert resp.headers["content-disposition"] == 'attachment; filename="speech.mp3"'
    assert httpx.get(url.split("?")[0], timeout=10).status_code == 403  # the bucket itself is not public


def _assert_no_secrets(exc: StorageUnavailable, *secrets: str) -> None:
    for text in (str(exc), exc.hint or "", exc.to_job_error(), repr(exc)):
        for secret in secrets:
            assert secret not in text


def test_wrong_secret_is_storage_unavailable_without_secrets(s3_store, s3_store_at, seaweed):
    s3_store.write("voices/a/voice.json", b"{}")
    wrong = "wrong-secret-0123456789abcdef"
    bad = s3_store_at("lib", secret_access_key=wrong)
    with pytest.raises(StorageUnavailable) as read_err:
        bad.read("voices/a/voice.json")
    assert "read of voices/a/voice.json" in str(read_err.value) and "SignatureDoesNotMatch" in str(read_err.value)
    with pytest.raises(StorageUnavailable) as write_err:
        bad.write("voices/b/voice.json", b"{}")
    assert "write of voices/b/voice.json" in str(write_err.value)
    for err in (read_err.value, write_err.value):
        assert err.hint and "credentials" in err.hint
        _assert_no_secrets(err, wrong, seaweed.access_key, seaweed.secret_key)


def test_unknown_access_key_is_storage_unavailable(s3_store_at):
    bad = s3_store_at("lib", access_key_id="nosuchkey-123", secret_access_key="nosuchsecret-456")
    with pytest.raises(StorageUnavailable) as err:
        bad.list("voices/")
    assert "InvalidAccessKeyId" in str(err.value)
    _assert_no_secrets(err.value, "nosuchkey-123", "nosuchsecret-456")


def test_missing_bucket_is_storage_unavailable(seaweed):
    store = S3Store.from_uri("s3://no-such-bucket-here/lib", endpoint_url=seaweed.endpoint_url,
                             access_key_id=seaweed.access_key, secret_access_key=seaweed.secret_key)
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        store.read("voices/a/voice.json")


def test_closed_port_fails_fast():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends
    store = S3Store.from_uri("s3://bucket/lib", endpoint_url=f"http://127.0.0.1:{port}",
                             access_key_id="k", secret_access_key="s")
    start = time.monotonic()
    for op in (lambda: store.read("a.json"), lambda: store.write("a.json", b"x"), lambda: store.list("")):
        with pytest.raises(StorageUnavailable):
            op()
    assert time.monotonic() - start < 15  # a bound against hangs, not a speed test


@pytest.fixture
def own_server(tmp_path):
    """A SeaweedFS of this test's own, so that stopping it leaves the session server alone."""
    with seaweed_server(tmp_path / "weed", "restart-key", "restart-secret-0123456789") as server:
        yield server


def test_server_restart_outage_and_recovery(own_server):
    s3_store = S3Store.from_uri("s3://restart/lib", endpoint_url=own_server.endpoint_url,
                                access_key_id=own_server.access_key, secret_access_key=own_server.secret_key)
    s3_store.ensure_bucket()
    etag = s3_store.write("voices/a/voice.json", b"kept")
    own_server.stop()
    start = time.monotonic()
    with pytest.raises(StorageUnavailable) as err:
        s3_store.read("voices/a/voice.json")
    assert "read of voices/a/voice.json" in str(err.value)
    assert time.monotonic() - start < 15  # a bound against hangs, not a speed test
    own_server.start()
    assert s3_store.read("voices/a/voice.json") == Blob(b"kept", etag)
    s3_store.write("voices/b/voice.json", b"new")
    assert s3_store.list("voices/") == ["voices/a/voice.json", "voices/b/voice.json"]


def test_write_if_match_replaces_only_the_version_read(store):
    from storage.store import Changed

    first = store.write("voices/f/.creating", b"token-a")
    second = store.write("voices/f/.creating", b"token-b", if_match=first)
    with pytest.raises(Changed):
        store.write("voices/f/.creating", b"token-c", if_match=first)      # a stale taker loses
    assert store.read("voices/f/.creating") == Blob(b"token-b", second)
    with pytest.raises(Changed):
        store.write("voices/f/missing", b"x", if_match=first)


def test_delete_if_match_removes_only_the_version_read(store):
    from storage.store import Changed

    mine = store.write("voices/g/.creating", b"token-a")
    theirs = store.write("voices/g/.creating", b"token-b")
    with pytest.raises(Changed):
        store.delete("voices/g/.creating", if_match=mine)                  # not mine any more: kept
    assert store.read("voices/g/.creating").etag == theirs
    store.delete("voices/g/.creating", if_match=theirs)
    with pytest.raises(NotFound):
        store.read("voices/g/.creating")
    with pytest.raises(Changed):
        store.delete("voices/g/.creating", if_match=theirs)


def test_s3_server_itself_refuses_a_delete_whose_if_match_differs(s3_store):
    """SeaweedFS 4.48 compares on DELETE itself (412); the store also compares first, for servers that do not."""
    from botocore.exceptions import ClientError

    s3_store.write("voices/h/.creating", b"token-a")
    theirs = s3_store.write("voices/h/.creating", b"token-b")
    try:
        s3_store._client.delete_object(Bucket=s3_store.bucket, Key=s3_store._full("voices/h/.creating"),
                                       IfMatch='"0123456789abcdef0123456789abcdef"')
        honoured = False
    except ClientError as exc:
        honoured = exc.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    kept = s3_store.list("voices/h/") == ["voices/h/.creating"]
    assert honoured and kept
    assert s3_store.read("voices/h/.creating").etag == theirs
