"""People's accounts from the deployment's side: the demo and the tests make them with a region's
machine token, and sign people in as the console does."""

import httpx

from ekspora_ops.partners import SignInFailed


async def add_person(identity_url: str, operator_token: str, person: dict) -> dict:
    """The account made (201), or the one the address already has (409), as identity shows it."""
    headers = {"Authorization": f"Bearer {operator_token}"}
    async with httpx.AsyncClient(base_url=identity_url, headers=headers, timeout=15) as identity:
        made = await identity.post("/people", json=person)
        if made.status_code == 409:
            [found] = (await identity.get("/people", params={"email": person["email"]})).json()
            return dict(found)
    if made.status_code != 201:
        raise SignInFailed(f"no account for {person['email']}: {made.status_code} {made.text}")
    return dict(made.json())


async def person_token(identity_url: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=identity_url, timeout=15) as identity:
        answer = await identity.post("/sign-in", json={"email": email, "password": password})
    if answer.status_code != 200:
        raise SignInFailed(f"{email} did not sign in: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])


async def add_mentor(
    identity_url: str, registry: httpx.AsyncClient, operator_token: str, cohort: dict, mentor: dict, password: str
) -> dict:
    """A mentor's account (identity's role mentor, in the cohort's region) and their place in the
    cohort, as the console adds one: the cohort as it then is."""
    account = {
        "email": mentor["email"],
        "name": mentor["name"],
        "role": "mentor",
        "regions": [cohort["region"]],
        "password": password,
    }
    person = await add_person(identity_url, operator_token, account)
    added = await registry.post(
        f"/cohorts/{cohort['cohort_id']}/mentors", json={**mentor, "person_id": person["person_id"]}
    )
    if added.status_code != 201:
        raise SignInFailed(f"{mentor['name']} not added to {cohort['cohort_id']}: {added.status_code} {added.text}")
    return dict(added.json())
