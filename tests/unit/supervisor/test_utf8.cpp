#include <catch2/catch.hpp>

#include "common/utf8.hpp"

namespace utf8 = berth::utf8;

TEST_CASE("utf8: well-formed characters are kept, everything else replaced byte by byte") {
    CHECK(utf8::sanitize("plain") == "plain");
    CHECK(utf8::sanitize("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK(utf8::sanitize("caf\xE9") == "caf\xEF\xBF\xBD");
    CHECK(utf8::sanitize("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
    CHECK(utf8::sanitize("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    CHECK(utf8::sanitize("\xF4\x90\x80\x80").size() == 12);                    // past U+10FFFF
    CHECK(utf8::sanitize(std::string("a\0b", 3)) == std::string("a\0b", 3));
    CHECK(utf8::valid(utf8::sanitize("\xE2\x82 \xFF\xFE")));
    CHECK_FALSE(utf8::valid("\xE2\x82"));
}

TEST_CASE("utf8: cuts fall between characters") {
    std::string s = "ab\xE2\x82\xAC" "cd";  // a, b, EURO SIGN, c, d
    CHECK(utf8::cut(s, 2) == 2);
    CHECK(utf8::cut(s, 3) == 2);
    CHECK(utf8::cut(s, 4) == 2);
    CHECK(utf8::cut(s, 5) == 5);
    CHECK(utf8::cut(s, 100) == s.size());
    CHECK(utf8::cut("\xFF\xFF\xFF\xFF", 2) == 2);  // invalid bytes: cut where asked
    CHECK(utf8::incomplete_tail("ab\xE2\x82") == 2);
    CHECK(utf8::incomplete_tail("ab\xE2") == 1);
    CHECK(utf8::incomplete_tail("ab\xF0\x9F\x98") == 3);
    CHECK(utf8::incomplete_tail("ab\xE2\x82\xAC") == 0);
    CHECK(utf8::incomplete_tail("ab\xE2\x41") == 0);  // not a character's start: nothing to wait for
    CHECK(utf8::incomplete_tail("\x82\x82\x82") == 0);
    CHECK(utf8::incomplete_tail("") == 0);
}
