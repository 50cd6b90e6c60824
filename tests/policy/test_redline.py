"""Redlines for readers: policy.redline.compare marks real changes section by section."""

import re

import pytest

from policy import redline

pytestmark = pytest.mark.django_db

OLD = """\
We run a small clinic and keep little data.

## 1. Data We Collect

We collect your name. We also collect your phone number. We keep both safe.

- Cookies
- Booking forms
- Phone calls

## 2. Security

We lock our files.
"""


def section(comparison: redline.Comparison, anchor: str) -> redline.SectionChange:
    """The one section of `comparison` with this anchor."""
    found = [s for s in comparison.sections if s.anchor == anchor]
    assert len(found) == 1, [s.anchor for s in comparison.sections]
    return found[0]


def marked(html: str, tag: str) -> list[str]:
    """The text inside each <ins> or <del> of `html`."""
    return re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)


def test_an_appended_section_is_added_with_all_its_text_inserted():
    new = OLD + "\n## 7. Your Rights\n\nYou may ask for a copy of your data.\n"
    comparison = redline.compare(OLD, new)
    added = section(comparison, "change-7-your-rights")
    assert added.status == "added"
    assert added.title_html == "<ins>7. Your Rights</ins>"
    assert added.body_html == "<p><ins>You may ask for a copy of your data.</ins></p>"
    assert [s.anchor for s in comparison.changed] == ["change-7-your-rights"]


def test_a_removed_sentence_is_struck_and_the_rest_of_the_paragraph_left_alone():
    new = OLD.replace(" We also collect your phone number.", "")
    changed = section(redline.compare(OLD, new), "change-1-data-we-collect")
    assert changed.status == "changed"
    assert marked(changed.body_html, "del") == ["also collect your phone number. We "]
    assert marked(changed.body_html, "ins") == []
    assert "<p>We collect your name. We <del>" in changed.body_html
    assert "</del>keep both safe.</p>" in changed.body_html
    # The unchanged list is shown in full, unmarked.
    assert "<li>Cookies</li><li>Booking forms</li><li>Phone calls</li>" in changed.body_html


def test_a_changed_list_item_shows_the_old_word_struck_and_the_new_one_inserted():
    new = OLD.replace("- Booking forms", "- Booking apps")
    changed = section(redline.compare(OLD, new), "change-1-data-we-collect")
    assert "<li>Booking <del>forms</del><ins>apps</ins></li>" in changed.body_html
    assert "<li>Cookies</li>" in changed.body_html
    assert "<li>Phone calls</li>" in changed.body_html


def test_a_renamed_heading_marks_the_title_and_keeps_the_body_unmarked():
    new = OLD.replace("## 2. Security", "## 2. Keeping Data Safe")
    comparison = redline.compare(OLD, new)
    renamed = section(comparison, "change-2-keeping-data-safe")
    assert renamed.status == "changed"
    assert renamed.title_html == "2. <del>Security</del><ins>Keeping Data Safe</ins>"
    assert renamed.body_html == "<p>We lock our files.</p>"
    assert [s.status for s in comparison.sections] == ["unchanged", "unchanged", "changed"]


def test_identical_texts_have_no_changed_sections():
    comparison = redline.compare(OLD, OLD)
    assert comparison.changed == ()
    assert [s.title_html for s in comparison.sections] == [
        "Introduction",
        "1. Data We Collect",
        "2. Security",
    ]
    assert {s.body_html for s in comparison.sections} == {""}
    assert (comparison.words_added, comparison.words_removed) == (0, 0)


def test_words_added_and_removed_are_counted_across_sections():
    new = (
        OLD.replace(" We also collect your phone number.", "")  # 6 words removed
        .replace("- Booking forms", "- Booking apps")  # 1 removed, 1 added
        .replace("We lock our files.", "We lock all our paper files.")  # 2 added
    )
    comparison = redline.compare(OLD, new)
    assert comparison.words_removed == 7
    assert comparison.words_added == 3


def test_a_removed_section_is_struck_whole_and_counted():
    new = OLD.split("## 2. Security")[0]
    comparison = redline.compare(OLD, new)
    removed = section(comparison, "change-2-security")
    assert removed.status == "removed"
    assert removed.title_html == "<del>2. Security</del>"
    assert removed.body_html == "<p><del>We lock our files.</del></p>"
    # The heading's words count too, as they do when a heading is renamed.
    assert (comparison.words_added, comparison.words_removed) == (0, 6)


def test_html_typed_in_the_markdown_comes_out_as_escaped_text():
    new = OLD.replace(
        "We lock our files.",
        'We lock our files. <script>alert("x")</script> <img src=x onerror=alert(1)>',
    )
    changed = section(redline.compare(OLD, new), "change-2-security")
    assert "<script" not in changed.body_html
    assert "<img" not in changed.body_html
    assert "&lt;script&gt;" in changed.body_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in changed.body_html
    assert marked(changed.body_html, "ins") == [
        ' &lt;script&gt;alert("x")&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;'
    ]


def test_html_in_a_heading_comes_out_as_escaped_text():
    new = OLD.replace("## 2. Security", "## 2. <b onclick=alert(1)>Security</b>")
    comparison = redline.compare(OLD, new)
    title = comparison.changed[0].title_html
    assert "<b" not in title
    assert title == ("2. <ins>&lt;b onclick=alert(1)&gt;</ins>Security<ins>&lt;/b&gt;</ins>")


def test_a_change_to_the_seed_policy_marks_only_the_changed_words(privacy):
    seed = privacy.versions.get(number=1).body
    new = seed.replace(
        "we will notify you via email.", "we will notify you by email 30 days in advance."
    )
    comparison = redline.compare(seed, new)
    assert [s.anchor for s in comparison.changed] == ["change-6-policy-updates"]
    body = comparison.changed[0].body_html
    assert marked(body, "del") == ["via"]
    assert marked(body, "ins") == ["by", " 30 days in advance"]
    assert (
        "stated at the time of collection, we will notify you <del>via</del><ins>by</ins> "
        "email<ins> 30 days in advance</ins>." in body
    )
    assert (comparison.words_added, comparison.words_removed) == (5, 1)
    # The other sections of the seed are listed as unchanged.
    assert [s.title_html for s in comparison.sections if s.status == "unchanged"] == [
        "Introduction",
        "1. Types of Data Collection",
        "2. The Data We Collect and How We Use It",
        "3.Customization, Preferences and Opt-Out",
        "4. Advertising",
        "5. Security",
    ]


def test_a_first_version_compared_with_nothing_is_all_added(privacy):
    seed = privacy.versions.get(number=1).body
    comparison = redline.compare("", seed)
    assert len(comparison.sections) == 7
    assert {s.status for s in comparison.sections} == {"added"}
    assert "<del>" not in "".join(s.body_html for s in comparison.sections)
    assert comparison.words_removed == 0
    assert comparison.words_added > 2000


def test_a_section_inserted_before_a_renamed_one_does_not_steal_its_text():
    new = OLD.replace(
        "## 2. Security",
        "## 2. Your Rights\n\nYou may ask for a copy of your data.\n\n## 3. Keeping Data Safe",
    )
    comparison = redline.compare(OLD, new)
    assert [(s.anchor, s.status) for s in comparison.changed] == [
        ("change-2-your-rights", "added"),
        ("change-3-keeping-data-safe", "changed"),
    ]
    renamed = section(comparison, "change-3-keeping-data-safe")
    assert renamed.body_html == "<p>We lock our files.</p>"  # its text did not change
    assert "<del>We" not in "".join(s.body_html for s in comparison.sections)


def test_a_rewritten_phrase_is_one_deletion_then_one_insertion_not_interleaved():
    kept = " We never sell it, and you can say no at any time on your account page."
    old = f"## Sharing\n\nWe share your data with our partners for marketing.{kept}\n"
    new = f"## Sharing\n\nWe give your email address to selected clinics for marketing.{kept}\n"
    body = section(redline.compare(old, new), "change-sharing").body_html
    assert marked(body, "del") == ["share your data with our partners"]
    assert marked(body, "ins") == ["give your email address to selected clinics"]
    assert body == (
        "<p>We <del>share your data with our partners</del>"
        f"<ins>give your email address to selected clinics</ins> for marketing.{kept}</p>"
    )


def test_a_word_kept_between_two_insertions_stays_unmarked():
    old = "## Security\n\nWe lock our files.\n"
    new = "## Security\n\nWe lock all our paper files.\n"
    body = section(redline.compare(old, new), "change-security").body_html
    assert body == "<p>We lock <ins>all </ins>our<ins> paper</ins> files.</p>"


def test_emphasis_and_links_survive_in_the_redline():
    old = "## Rights\n\nYou **must** ask us by [email](mailto:privacy@pamedspa.biz) first.\n"
    new = "## Rights\n\nYou **may** ask us by [email](mailto:privacy@pamedspa.biz) or *phone*.\n"
    body = section(redline.compare(old, new), "change-rights").body_html
    assert "<del><strong>must</strong></del><ins><strong>may</strong></ins>" in body
    assert re.search(r'<a href="mailto:privacy@pamedspa.biz"[^>]*>email</a>', body)
    assert "<del>first</del><ins>or <em>phone</em></ins>" in body


def test_a_word_that_only_became_bold_shows_as_changed():
    old = "## Rights\n\nYou may ask.\n"
    new = "## Rights\n\nYou **may** ask.\n"
    changed = section(redline.compare(old, new), "change-rights")
    assert changed.status == "changed"
    assert "<del>may</del><ins><strong>may</strong></ins>" in changed.body_html


def test_a_link_to_a_script_does_not_survive_the_redline():
    old = "## Links\n\nSee [us](https://pamedspa.biz).\n"
    new = "## Links\n\nSee [us](javascript:alert(1)).\n"
    body = section(redline.compare(old, new), "change-links").body_html
    assert 'href="javascript' not in body and "<a " not in body.split("<ins>")[1]
