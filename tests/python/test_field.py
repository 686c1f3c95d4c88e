"""The handheld library driven from Python through the generated UniFFI bindings, against the
real server binary: offline work on two devices, merged histories, conflicts, refusals."""

import gridcase_client as gc


def report(client, description):
    return client.report(gc.NewReport(
        channel="patrol", description=description, grid="g1", address=None,
        longitude=None, latitude=None, category=None, photos=[]))


def event_ids(client, case):
    return sorted(t.event for t in client.case_detail(case).timeline)


def test_two_handhelds_offline_on_one_case_end_with_one_history(server, handheld):
    worker1 = handheld("worker1")
    worker2 = handheld("worker2")
    case = report(worker1, "fallen tree blocks the lane")
    worker1.sync()
    r = worker2.sync()
    assert r.cases_received == 1
    assert worker2.case_detail(case).case.status == "reported"

    # Both offline now: each adds to the case.
    worker1.comment(case, "branches across both lanes")
    worker2.comment(case, "traffic diverted")
    worker2.self_handle(case, "cleared the small branches", [])
    assert worker1.pending().cases == [case]

    worker1.sync()
    worker2.sync()
    worker1.sync()
    assert event_ids(worker1, case) == event_ids(worker2, case)
    assert len(event_ids(worker1, case)) == 4
    assert worker1.case_detail(case).case.status == worker2.case_detail(case).case.status == "awaiting_verification"
    assert worker1.pending().cases == [] and worker2.pending().cases == []


def test_an_offline_close_after_a_not_resolved_verification_is_a_conflict_for_the_center(server, handheld):
    worker1 = handheld("worker1")
    worker2 = handheld("worker2")
    case = report(worker1, "overflowing bins")
    worker1.sync()
    operator = server.login("operator")
    unit1 = server.login("unit1")
    for token, action in [
        (operator, {"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}}),
        (operator, {"kind": "dispatch", "payload": {"unit": "u1"}}),
        (unit1, {"kind": "feedback", "payload": {"resolved": True, "note": "emptied"}}),
    ]:
        status, body = server.request("POST", "/v1/cases/%s/events" % case, token, action)
        assert status == 201, body
    worker1.sync()
    worker2.sync()
    assert worker1.case_detail(case).case.status == "awaiting_verification"

    # worker2 finds it not fixed and syncs; worker1, offline and unaware, verifies and closes.
    worker2.verify(case, False, "still overflowing", [])
    worker2.sync()
    worker1.verify(case, True, "", [])
    worker1.close(case, "done")
    report1 = worker1.sync()
    assert report1.refusals == []
    assert report1.conflicts >= 1

    status, view = server.request("GET", "/v1/cases/" + case, operator)
    assert status == 200
    assert view["state"]["status"] == "rework"
    superseded = [h["event"]["action"]["kind"] for h in view["history"] if h["disposition"] == "superseded"]
    assert "close" in superseded
    assert len(view["state"]["conflicts"]) >= 1
    assert any(c.event for c in worker1.conflicts())


def test_a_refused_change_keeps_its_data_on_the_device_and_is_not_resent(server, handheld):
    worker2 = handheld("worker2")
    case = report(worker2, "broken bench")
    worker2.comment(case, "two slats missing")
    admin = server.login("admin")
    status, body = server.request("POST", "/v1/admin/users", admin, {
        "id": "worker2", "name": "网格员二", "role": "grid_worker",
        "scope": {"level": "grids", "id": ["g4"]}, "revoke_previous_scopes": True})
    assert status == 200, body

    first = worker2.sync()
    assert [r.code for r in first.refusals] == ["scope_revoked"]
    detail = worker2.case_detail(case)
    assert len(detail.timeline) == 2, "the user's data stays on the device"
    assert detail.case.refused == "scope_revoked"
    assert [r.case_id for r in worker2.pending().refused] == [case]

    again = worker2.sync()
    assert again.refusals == [], "not resent in a loop"
    assert again.bytes_sent < first.bytes_sent
    operator = server.login("operator")
    status, _ = server.request("GET", "/v1/cases/" + case, operator)
    assert status == 404


def test_local_rules_refuse_before_anything_is_written(server, handheld):
    worker1 = handheld("worker1")
    case = report(worker1, "graffiti")
    try:
        worker1.close(case, "")
        raise AssertionError("a case cannot be closed before it is verified")
    except gc.ClientError.NotAllowed as e:
        assert e.code == "wrong_status"
    assert len(worker1.case_detail(case).timeline) == 1


class UrllibTransport(gc.HttpTransport):
    """The app's own HTTP stack, handed in through the foreign trait (as OkHttp or URLSession
    would be on a phone)."""

    def __init__(self):
        self.requests = 0

    def send(self, request):
        import urllib.error
        import urllib.request

        self.requests += 1
        req = urllib.request.Request(request.url, data=bytes(request.body) if request.body else None, method=request.method)
        for h in request.headers:
            req.add_header(h.name, h.value)
        try:
            with urllib.request.urlopen(req) as resp:
                status, headers, body = resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers.items(), e.read()
        except OSError as e:
            raise gc.TransportError.Unreachable(str(e))
        return gc.HttpResponse(status=status, headers=[gc.HttpHeader(name=k, value=v) for k, v in headers], body=body)


def test_an_app_can_hand_in_its_own_http_stack(server, tmp_path):
    from conftest import PASSWORD

    transport = UrllibTransport()
    client = gc.FieldClient.open_with_transport(str(tmp_path / "device"), server.url, transport)
    client.login("worker1", PASSWORD)
    case = report(client, "sinkhole on the pavement")
    r = client.sync()
    assert r.cases_sent == 1
    assert transport.requests >= 4
    operator = server.login("operator")
    status, view = server.request("GET", "/v1/cases/" + case, operator)
    assert status == 200 and view["state"]["description"] == "sinkhole on the pavement"


def test_a_case_gets_its_number_from_the_server_with_a_sync(server, handheld):
    worker1 = handheld("worker1")
    case = report(worker1, "manhole cover missing")
    assert worker1.case_detail(case).case.number is None, "not numbered offline"
    worker1.sync()
    number = worker1.case_detail(case).case.number
    assert number.startswith("DC-"), number
    operator = server.login("operator")
    status, page = server.request("GET", "/v1/cases?number=" + number, operator)
    assert status == 200, page
    assert [c["id"] for c in page["cases"]] == [case]
    assert [c.id for c in worker1.cases(gc.CaseFilter(
        status=None, text=number, only_pending_sync=False, only_conflicts=False,
        only_overdue=False))] == [case]


def test_a_public_report_is_confirmed_on_site_and_another_declined(server, handheld):
    worker1 = handheld("worker1")
    desk = handheld("community1")

    def hotline(client, description):
        return client.report(gc.NewReport(
            channel="hotline", description=description, grid="g1", address=None,
            longitude=None, latitude=None, category=None, photos=[]))

    seen = hotline(worker1, "water pipe leaking")
    assert worker1.case_detail(seen).case.status == "awaiting_confirmation"
    worker1.confirm(seen, True, "leaking at the corner")
    assert worker1.case_detail(seen).case.status == "reported"
    gone = hotline(worker1, "abandoned car")
    worker1.confirm(gone, False, "no car there")
    assert worker1.case_detail(gone).case.status == "declined"
    worker1.sync()

    # Declining is a center's: the grid worker is refused on the device, the workstation is not.
    twice = hotline(desk, "water pipe leaking again")
    try:
        worker1.decline(seen, "duplicate", "")
        raise AssertionError("a grid worker does not decline")
    except gc.ClientError.NotAllowed as e:
        assert e.code == "not_permitted"
    try:
        desk.decline(twice, "bored", "")
        raise AssertionError("an unknown reason is refused")
    except gc.ClientError.Invalid:
        pass
    desk.decline(twice, "duplicate", "same leak as " + seen)
    assert desk.case_detail(twice).case.status == "declined"
    assert desk.sync().refusals == []

    operator = server.login("operator")
    for case, status in [(seen, "reported"), (gone, "declined"), (twice, "declined")]:
        code, view = server.request("GET", "/v1/cases/" + case, operator)
        assert code == 200 and view["state"]["status"] == status, (case, view["state"])


def test_a_unit_acknowledges_and_asks_for_more_time(server, handheld):
    worker1 = handheld("worker1")
    ours = report(worker1, "garbage piled at the corner")
    theirs = report(worker1, "bins overflowing")
    worker1.sync()
    operator = server.login("operator")
    for case, unit in [(ours, "u1"), (theirs, "u1"), (theirs, "u2")]:
        actions = [{"kind": "dispatch", "payload": {"unit": unit}}]
        if unit == "u1":
            actions.insert(0, {"kind": "file", "payload": {"category": "E0102", "level": "general", "units": ["u1"]}})
        for action in actions:
            status, body = server.request("POST", "/v1/cases/%s/events" % case, operator, action)
            assert status == 201, body

    unit1 = handheld("unit1")
    unit1.sync()
    unit1.acknowledge(ours, "on our way")
    asked = unit1.request_extension(ours, 3, "waiting for a skip lorry")
    before = len(unit1.case_detail(theirs).timeline)
    try:
        unit1.acknowledge(theirs, None)
        raise AssertionError("the case is dispatched to u2 now")
    except gc.ClientError.NotAllowed as e:
        assert e.code == "not_assigned"
    assert len(unit1.case_detail(theirs).timeline) == before, "nothing written"
    kinds = [t.kind for t in unit1.case_detail(ours).timeline]
    assert kinds[-2:] == ["acknowledge", "extension_request"], kinds

    done = unit1.sync()
    assert done.refusals == [] and done.cases_sent == 1, done
    status, view = server.request("GET", "/v1/cases/" + ours, operator)
    assert status == 200
    assert view["state"]["acknowledged_at"] is not None, view["state"]
    assert view["state"]["pending_extension"]["event"] == asked
    assert view["state"]["pending_extension"]["hours"] == 3
