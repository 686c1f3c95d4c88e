"""The progress listener of a sync, driven from Python through the generated UniFFI bindings
against the real server: a class implementing SyncProgressListener hears the stages in order
(this device's cases and photos, "saved", others' cases and photos, "done"), byte counts that
never go back, photo stages that end at their totals, and a report that says the same."""

import os

import gridcase_client as gc

STAGES = ["own_cases", "own_photos", "saved", "others_cases", "others_photos", "done"]


class Recorder(gc.SyncProgressListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


def photo(tmp_path, name, size, seed):
    # Bytes nothing compresses much, so that the byte counts are the photo's.
    data = bytearray(b"\xff\xd8\xff\xe0")
    x = seed
    while len(data) < size:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        data += (x >> 32).to_bytes(4, "little")
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as f:
        f.write(bytes(data[:size]))
    return path


def report(client, description, photos):
    return client.report(gc.NewReport(
        channel="patrol", description=description, grid="g1", address=None,
        longitude=None, latitude=None, category=None, photos=photos))


def test_the_progress_listener_hears_own_work_first_and_bytes_only_grow(server, handheld, tmp_path):
    theirs_size, ours_size = 300_000, 200_000
    worker1 = handheld("worker1")
    theirs = report(worker1, "their pothole", [photo(tmp_path, "theirs.jpg", theirs_size, 1)])
    worker1.sync()

    desk = handheld("worker2")
    ours = report(desk, "our blocked drain", [photo(tmp_path, "ours.jpg", ours_size, 2)])
    recorder = Recorder()
    r = desk.sync_with_progress(gc.SyncOptions(download_photos=True), recorder)

    seen = recorder.seen
    stages = [p.stage for p in seen]
    order = [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s]
    assert order == STAGES, order
    assert seen[-1].stage == "done"
    assert seen[-1].own_work_on_server
    # Only growing: the sync's bytes each way, and a stage's bytes and items done.
    for a, b in zip(seen, seen[1:]):
        assert b.bytes_sent >= a.bytes_sent and b.bytes_received >= a.bytes_received, (a, b)
        if a.stage == b.stage:
            assert b.bytes_done >= a.bytes_done and b.items_done >= a.items_done, (a, b)
        assert b.bytes_total == 0 or b.bytes_done <= b.bytes_total, b
    # From "saved" on, the work is on the server; before, it is not said.
    saved_at = stages.index("saved")
    assert not any(p.own_work_on_server for p in seen[:saved_at])
    assert all(p.own_work_on_server for p in seen[saved_at:])
    # Each photo stage ends at its total: one photo each way.
    for stage, size in [("own_photos", ours_size), ("others_photos", theirs_size)]:
        last = [p for p in seen if p.stage == stage][-1]
        assert (last.bytes_done, last.bytes_total) == (size, size), last
        assert (last.items_done, last.items_total) == (1, 1), last
    # The report says what the listener heard.
    assert r.own_work_on_server and r.own_work_saved_ms is not None
    assert (r.cases_sent, r.cases_received) == (1, 1)
    assert (r.blobs_uploaded, r.blobs_downloaded) == (1, 1)
    assert (r.photo_bytes_sent, r.photo_bytes_received) == (ours_size, theirs_size)
    assert (seen[-1].bytes_sent, seen[-1].bytes_received) == (r.bytes_sent, r.bytes_received)
    assert desk.case_detail(theirs).attachments[0].path is not None
    assert desk.case_detail(ours).case.id == ours
