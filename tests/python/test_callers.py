"""A walk-in resident's report at a community workstation, through the generated bindings
against the real server: the caller's details stay on the device, masked when shown and never in
the case document, until the case has synced; then they go to the server's caller register and
leave the device."""

import json

import gridcase_client as gc


def walk_in(description, caller, business_type="complaint"):
    return gc.NewReport(
        channel="walk_in", description=description, grid="g1", address=None,
        longitude=None, latitude=None, category=None, photos=[],
        business_type=business_type, caller=caller)


def intake(client, case):
    (first,) = [t for t in client.case_detail(case).timeline if t.kind == "intake"]
    return json.loads(first.payload)


def test_a_walk_in_callers_details_leave_the_workstation_for_the_register(server, handheld):
    desk = handheld("community1")
    case = desk.report(walk_in("street lamp out for a week", gc.NewCaller(
        name="王小明", phone="138 1234 8000", address="韶九胡同 3 号", callback=True)))

    detail = desk.case_detail(case)
    assert detail.case.business_type == "complaint"
    assert detail.caller.name == "王*"
    assert detail.caller.phone == "138****8000"
    assert detail.caller.callback and detail.caller.has_address and not detail.caller.anonymous
    assert desk.pending().callers == [case]
    caller_id = detail.caller.id
    written = intake(desk, case)
    assert written["reporter"] is None
    assert written["caller"] == caller_id, "the document names the record, nothing more"
    assert "王小明" not in json.dumps(written, ensure_ascii=False)

    report = desk.sync()
    assert report.cases_sent == 1 and report.refusals == []
    assert report.callers_uploaded == 1
    assert desk.pending().callers == []
    assert desk.case_detail(case).caller is None, "gone from the device once uploaded"

    # A grid worker of the case's grid receives the case: no caller comes with it.
    worker = handheld("worker1")
    worker.sync()
    seen = worker.case_detail(case)
    assert seen.case.business_type == "complaint"
    assert seen.caller is None
    assert intake(worker, case)["reporter"] is None
    for t in seen.timeline:
        assert "王小明" not in t.payload and "13812348000" not in t.payload

    # The register holds it: sent again, it answers that it had it.
    token = server.login("community1")
    status, body = server.request("PUT", "/v1/cases/%s/callers/%s" % (case, caller_id), token, {
        "name": "王小明", "phone": "13812348000", "contact": None, "address": "韶九胡同 3 号",
        "callback": True, "anonymous": False})
    assert status == 200, body
    assert body["again"] is True and body["caller"] == caller_id and body["case"] == case


def test_a_bad_phone_is_refused_before_anything_is_written(server, handheld):
    desk = handheld("community1")
    for phone, says in [("8765 4321", "area code"), ("138-1234-567", "telephone number")]:
        try:
            desk.report(walk_in("lamp", gc.NewCaller(name="王小明", phone=phone)))
            raise AssertionError("refused: " + phone)
        except gc.ClientError.Invalid as e:
            assert says in str(e), str(e)
    try:
        desk.report(walk_in("lamp", gc.NewCaller(name="王小明"), business_type="gossip"))
        raise AssertionError("an unknown business type is refused")
    except gc.ClientError.Invalid as e:
        assert "business type" in str(e)
    assert desk.pending().cases == [] and desk.pending().callers == []


def test_a_report_without_a_caller_reads_as_before(server, handheld):
    worker = handheld("worker1")
    case = worker.report(gc.NewReport(
        channel="patrol", description="graffiti", grid="g1", address=None,
        longitude=None, latitude=None, category=None, photos=[]))
    detail = worker.case_detail(case)
    assert detail.caller is None and detail.case.business_type is None
    assert "caller" not in intake(worker, case)
    assert worker.sync().callers_uploaded == 0
