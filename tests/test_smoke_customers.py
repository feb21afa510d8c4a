def test_create_and_list_customer(tenant):
    response = tenant.client.post(
        "/customers/",
        {"name": "ACME SpA", "country": "CL", "tax_id": "76.086.428-5"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tax_id"] == "76086428-5"
    listing = tenant.client.get("/customers/").json()
    assert [c["id"] for c in listing["results"]] == [response.json()["id"]]
