#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "runtime/user.hpp"

using namespace berth::runtime;

namespace {
const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "broken line\n"
    "bad:x:notanumber:0::/:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\r\n"
    "web:x:1000:1000:Web Server:/srv/web:/bin/sh\n"
    "nohome:x:1001:1001:::/bin/sh";
const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,web\n"
    "web:x:1000:\n"
    "audio:x:29:daemon,web,\n"
    "junk\n";
}  // namespace

TEST_CASE("passwd parsing keeps valid entries only") {
    auto users = parse_passwd(kPasswd);
    REQUIRE(users.size() == 4);
    CHECK(users[0].name == "root");
    CHECK(users[1].name == "daemon");
    CHECK(users[1].shell == "/usr/sbin/nologin");  // CRLF stripped
    CHECK(users[2].uid == 1000);
    CHECK(users[2].gid == 1000);
    CHECK(users[2].home == "/srv/web");
    CHECK(users[3].home.empty());
}

TEST_CASE("group parsing splits members") {
    auto groups = parse_group(kGroup);
    REQUIRE(groups.size() == 4);
    CHECK(groups[0].members.empty());
    CHECK(groups[1].members == std::vector<std::string>{"root", "web"});
    CHECK(groups[3].gid == 29);
    CHECK(groups[3].members == std::vector<std::string>{"daemon", "web"});
}

TEST_CASE("numeric ids are used as given, home comes from passwd") {
    berth::oci::User u;
    u.uid = 1000;
    u.gid = 50;
    u.additional_gids = {7, 7, 8};
    auto id = resolve_identity(u, kPasswd, kGroup);
    CHECK(id.uid == 1000);
    CHECK(id.gid == 50);
    CHECK(id.groups == std::vector<gid_t>{7, 8});
    CHECK(id.home == "/srv/web");

    u.uid = 4242;  // not in passwd: fine, numeric ids need no entry
    id = resolve_identity(u, kPasswd, std::nullopt);
    CHECK(id.home == "/");
    id = resolve_identity(u, std::nullopt, std::nullopt);
    CHECK(id.uid == 4242);
}

TEST_CASE("a username resolves ids and groups from the container files") {
    berth::oci::User u;
    u.username = "web";
    u.additional_gids = {29, 5};
    auto id = resolve_identity(u, kPasswd, kGroup);
    CHECK(id.uid == 1000);
    CHECK(id.gid == 1000);
    CHECK(id.groups == std::vector<gid_t>{10, 29, 5});
    CHECK(id.home == "/srv/web");
}

TEST_CASE("an unknown username is an error naming the user") {
    berth::oci::User u;
    u.username = "ghost";
    CHECK_THROWS_WITH(resolve_identity(u, kPasswd, kGroup),
                      "unknown user `ghost` (not in the container's /etc/passwd)");
    CHECK_THROWS_AS(resolve_identity(u, std::nullopt, std::nullopt), berth::Error);
}
