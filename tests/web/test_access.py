"""Sign-in, sign-out, who may open which page, and the admin kept for administrators."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import Client, RequestFactory

from core.pages import page
from tests.web.conftest import PASSWORD
from web.navigation import nav_links


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_sign_in_page_is_at_the_root_in_chinese(db):
    response = Client().get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in page
    assert "用户名" in page and "密码" in page and "登录" in page


def test_a_wrong_password_is_refused_with_a_chinese_message(staff):
    response = Client().post("/", {"username": "zhang-cw", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_a_right_password_lands_on_the_home_worklist(staff):
    client = Client()
    response = client.post("/", {"username": "zhang-cw", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert client.get("/").status_code == 302  # signed in: straight to the home page


def test_the_home_page_asks_a_visitor_to_sign_in_first(db):
    response = Client().get("/home/")
    assert response.status_code == 302
    assert response["Location"] == "/?next=/home/"


def test_sign_out_takes_a_post_and_says_so(staff):
    client = signed_in(staff["caseworker"])
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", follow=True)
    assert "您已安全退出" in response.content.decode()
    assert client.get("/home/").status_code == 302


@pytest.mark.parametrize("role", ["caseworker", "grid", "approver", "finance", "auditor"])
def test_the_admin_refuses_every_role_but_the_administrator_in_chinese(staff, role):
    client = signed_in(staff[role])
    for url in ("/admin/", "/admin/beneficiaries/household/", "/admin/casework/adjustment/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "系统管理仅供管理员使用" in response.content.decode()


def test_the_admin_opens_for_the_administrator_and_not_for_a_superuser_of_another_role(staff):
    assert signed_in(staff["admin"]).get("/admin/").status_code == 200
    superuser = staff["caseworker_b"]
    superuser.is_superuser = True
    superuser.save()
    assert signed_in(superuser).get("/admin/").status_code == 403


def test_a_visitor_still_gets_the_admin_sign_in_page(db):
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("role", "labels"),
    [
        (
            "caseworker",
            ["工作台", "家庭档案", "救助申请", "网格员线索", "临时救助", "期限提醒", "待我审批"],
        ),
        ("approver", ["工作台", "家庭档案", "待我审批"]),
        ("grid", ["工作台", "上报线索", "我上报的线索"]),
        ("admin", ["工作台", "家庭档案", "系统管理"]),
    ],
)
def test_the_navigation_shows_only_what_the_role_may_open(staff, role, labels):
    links = nav_links(user=staff[role], current="web:home")
    assert [link.label for link in links] == labels
    assert links[0].current


def test_english_is_one_click_away_and_so_is_chinese(staff):
    client = signed_in(staff["caseworker"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/home/"})
    english = client.get("/home/").content.decode()
    assert '<html lang="en">' in english and "Open applications (by step)" in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/home/"})
    assert "在办申请（按环节）" in client.get("/home/").content.decode()


def test_a_missing_page_answers_404_in_chinese(staff):
    response = signed_in(staff["caseworker"]).get("/no-such-page/")
    assert response.status_code == 404
    assert "没有找到这个页面或记录" in response.content.decode()


def test_a_page_named_by_its_resource_reads_and_writes_as_the_policy_says(regions, make_user):
    @page(resource="household")
    def households(request):
        return HttpResponse("ok")

    factory = RequestFactory()
    auditor = make_user("auditor", regions["zhenjiang"])
    caseworker = make_user("caseworker", regions["town_a"])
    grid = make_user("grid_worker", regions["town_a"])

    def answer(user, method):
        request = getattr(factory, method)("/households/")
        request.user = user
        try:
            return households(request).status_code
        except PermissionDenied as refusal:
            return str(refusal)

    assert answer(auditor, "get") == 200
    assert answer(auditor, "post") == "您的角色不能使用此页面。"
    assert answer(caseworker, "post") == 200
    assert answer(grid, "get") == "您的角色不能使用此页面。"
    assert households.page_roles == frozenset(
        {"caseworker", "county_approver", "finance", "auditor", "admin"}
    )
