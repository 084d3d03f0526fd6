package reply

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// corpusDir returns shared/corpus/sub, found relative to this test file
// (../../../shared/corpus), or skips the test when it is absent.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("cannot locate the test file to find ../../../shared/corpus")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("public corpus %s not present (%v); it lives in shared/corpus beside the repo", sub, err)
	}
	return dir
}

// normWS collapses all white space, for comparing trimmed texts.
func normWS(s string) string { return strings.Join(strings.Fields(s), " ") }

// dropQuoted removes ">"-quoted lines: fabu never counts them as new text,
// while the Discourse fixtures keep quotes that precede new text.
func dropQuoted(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), ">") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(b)
}

// TestTrimmerCorpus measures Trim on Discourse's email_reply_trimmer
// fixtures: emails/X.txt must trim to trimmed/X.txt, compared with white
// space collapsed and ">" lines dropped from both sides. At least 95 % must
// match.
func TestTrimmerCorpus(t *testing.T) {
	dir := corpusDir(t, "email_reply_trimmer/test")
	files, err := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	sort.Strings(files)
	pass, strict := 0, 0
	var failed []string
	for _, f := range files {
		name := filepath.Base(f)
		want := readFile(t, filepath.Join(dir, "trimmed", name))
		got, how := Trim(readFile(t, f))
		if normWS(got) == normWS(want) {
			strict++
		}
		if normWS(dropQuoted(got)) == normWS(dropQuoted(want)) {
			pass++
			continue
		}
		failed = append(failed, name)
		t.Logf("MISMATCH %s (%s)\n--- got:\n%s\n--- want:\n%s", name, how, got, want)
	}
	rate := float64(pass) / float64(len(files))
	t.Logf("email_reply_trimmer: %d/%d = %.1f%% (strict, quotes kept: %d/%d); failed: %v",
		pass, len(files), 100*rate, strict, len(files), failed)
	if rate < 0.95 {
		t.Errorf("accuracy %.1f%% < 95%%", 100*rate)
	}
}

// check is an expectation on a fixture's new text, taken from the upstream
// project's own test suite: exact text (white space collapsed) and/or
// phrases it must and must not contain.
type check struct {
	file    string
	exact   string
	has     []string
	hasNot  []string
	comment string
}

// run applies a check and returns what is wrong ("" when it passes).
func (c check) run(got string) string {
	if c.exact != "" && normWS(got) != normWS(c.exact) {
		return "want exactly " + strconv.Quote(normWS(c.exact))
	}
	for _, h := range c.has {
		if !strings.Contains(normWS(got), normWS(h)) {
			return "missing " + strconv.Quote(h)
		}
	}
	for _, h := range c.hasNot {
		if strings.Contains(got, h) {
			return "should not contain " + strconv.Quote(h)
		}
	}
	return ""
}

// measure runs checks on the fixtures in dir with get, logs every failure
// and returns the number passed.
func measure(t *testing.T, dir string, checks []check, get func(path string) string) int {
	t.Helper()
	pass := 0
	for _, c := range checks {
		got := get(filepath.Join(dir, c.file))
		if msg := c.run(got); msg != "" {
			t.Logf("FAIL %s: %s %s\n--- got:\n%s", c.file, msg, c.comment, got)
			continue
		}
		pass++
	}
	return pass
}

func trimFile(t *testing.T) func(string) string {
	return func(path string) string {
		got, _ := Trim(readFile(t, path))
		return got
	}
}

// The expectations of github/email_reply_parser's test suite (parse_reply /
// visible fragments), as text fabu should keep.
var emailReplyParserChecks = []check{
	{file: "correct_sig.txt", exact: "this is an email with a correct -- signature."},
	{file: "email_1_1.txt", exact: "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\nrunning a test?\nI am currently using the Java HTTP API.", comment: "(upstream hides the \"-Abhishek Kona\" sign-off)"},
	{file: "email_1_2.txt", has: []string{"Hi,", "You can list the keys", "delete them all individually"}, hasNot: []string{"wrote:", "riak-users mailing list", "> Hi folks"}},
	{file: "email_1_3.txt", has: []string{"Oh thanks.", "Having the function would be great."}, hasNot: []string{"Russell Brown", "Hi folks"}},
	{file: "email_1_4.txt", has: []string{"Awesome!"}, hasNot: []string{"Loader"}},
	{file: "email_1_5.txt", has: []string{"One: Here's what I've got.", "This is the fourth bullet point", "It goes on and on\nfor a while."}},
	{file: "email_1_6.txt", has: []string{"I get proper rendering as well."}, hasNot: []string{"Was this"}},
	{file: "email_1_7.txt", has: []string{":+1:"}, hasNot: []string{"Steps 0-2"}},
	{file: "email_1_8.txt", has: []string{"I will reply under this one", "and under this."}, hasNot: []string{"okay.  Well", "Hey there, this is my signature"}},
	{file: "email_2_1.txt", exact: "Outlook with a reply"},
	{file: "email_2_2.txt", exact: "Outlook with a reply directly above line"},
	{file: "email_2_3.txt", exact: "Outlook with a reply directly above line"},
	{file: "email_BlackBerry.txt", exact: "Here is another email"},
	{file: "email_iPhone.txt", exact: "Here is another email"},
	{file: "email_multi_word_sent_from_my_mobile_device.txt", exact: "Here is another email"},
	{file: "email_sent_from_my_not_signature.txt", exact: "Here is another email\n\nSent from my desk, is much easier then my mobile phone."},
	{file: "email_bullets.txt", exact: "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n   - how about bullets\n   - and another"},
	{file: "email_long_quote.txt", has: []string{"Hi folks", "running a test?"}, hasNot: []string{">>>>"}},
	{file: "email_one_is_not_on.txt", has: []string{"One outstanding question"}, hasNot: []string{"On Oct 1, 2012"}},
	{file: "email_sig_delimiter_in_middle_of_line.txt", exact: "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai"},
	{file: "greedy_on.txt", has: []string{"On your remote host you can run:", "the tunnel is not working."}, hasNot: []string{"George Plymale"}},
	{file: "pathological.txt", has: []string{"I think you're onto something."}, hasNot: []string{"John Sullivan", "organism.sequence"}},
}

func TestEmailReplyParserCorpus(t *testing.T) {
	dir := corpusDir(t, "email_reply_parser/test/emails")
	pass := measure(t, dir, emailReplyParserChecks, trimFile(t))
	t.Logf("email_reply_parser: %d/%d checks pass", pass, len(emailReplyParserChecks))
	if pass < len(emailReplyParserChecks)-2 {
		t.Errorf("email_reply_parser regressed: %d/%d", pass, len(emailReplyParserChecks))
	}
}

// crispCommon is the first fragment crisp-oss/email-reply-parser expects of
// most of its multilingual fixtures.
const crispCommon = "Fusce bibendum, quam hendrerit sagittis tempor, dui turpis tempus erat, pharetra sodales ante sem sit amet metus.\n" +
	"Nulla malesuada, orci non vulputate lobortis, massa felis pharetra ex, convallis consectetur ex libero eget ante.\n" +
	"Nam vel turpis posuere, rhoncus ligula in, venenatis orci. Duis interdum venenatis ex a rutrum.\n" +
	"Duis ut libero eu lectus consequat consequat ut vel lorem. Vestibulum convallis lectus urna,\n" +
	"et mollis ligula rutrum quis. Fusce sed odio id arcu varius aliquet nec nec nibh."

func crispChecks() []check {
	var cs []check
	for _, n := range []string{"email_7", "email_8", "email_9", "email_10", "email_11", "email_12", "email_13",
		"email_14", "email_15", "email_16", "email_17", "email_18", "email_22", "email_23", "email_24", "email_25",
		"email_26", "email_portuguese", "email_german", "email_german_2", "email_german_3", "email_german_outlook",
		"email_norwegian_gmail", "email_finnish", "email_italian", "email_russian", "email_outlook_split_line_from",
		"email_gmail_split_line_from", "email_ios_outlook_fr",
		"email_ios_outlook", "email_msn", "email_fr_multiline", "email_french_2", "email_en_multiline_2",
		"email_original_message", "email_original_message_2", "email_danish_dash_separator",
		"email_french_dash_separator", "email_tricky_5_mixed_languages", "email_tricky_10_special_chars_in_name",
		"email_tricky_12_no_space_after_header", "email_tricky_14_long_quote_header",
		"email_tricky_15_original_message_variations"} {
		cs = append(cs, check{file: n + ".txt", exact: crispCommon})
	}
	return append(cs,
		check{file: "email_1.txt", exact: "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\nrunning a test?\nI am currently using the Java HTTP API.\n\n-Abhishek Kona"},
		check{file: "email_3.txt", has: []string{"Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona"}},
		check{file: "email_4.txt", has: []string{"Awesome"}, hasNot: []string{"Loader"}},
		check{file: "email_6.txt", has: []string{"I get"}, hasNot: []string{"Was this"}},
		check{file: "email_sent_from.txt", exact: "Hi it can happen to any texts you type, as long as you type in between words or paragraphs."},
		check{file: "email_emoji.txt", exact: "🎉\n\n—\nJohn Doe\nCEO at Pandaland\n\n@pandaland"},
		check{file: "email_zoho.txt", exact: "What is the best way to clear a Riak bucket of all key, values after\nrunning a test?"},
		check{file: "email_with_regards.txt", exact: "Hi,\n\nI still have the same problem....\n\nCan you help?", comment: "(upstream drops the \"Regards\" sign-off)"},
		check{file: "email_one_is_not_on.txt", has: []string{"One outstanding question"}, hasNot: []string{"On Oct 1, 2012"}},
		check{file: "email_reply_header.txt", has: []string{"On the other hand"}, hasNot: []string{"On Wed, Dec 9"}},
		check{file: "correct_sig.txt", hasNot: []string{"rick"}},
		check{file: "sig_no_empty_line.txt", hasNot: []string{"rick"}},
		check{file: "email_tricky_1_on_false_positive.txt", has: []string{"On"}},
		check{file: "email_tricky_2_url_with_wrote.txt", has: []string{"Check out this article", "https://example.com"}},
		check{file: "email_tricky_3_code_block.txt", has: []string{"function sendEmail"}},
		check{file: "email_tricky_6_regards_in_sentence.txt", has: []string{"with regards to the payment"}},
		check{file: "email_tricky_7_multiple_dashes.txt", has: []string{"Key Points"}},
		check{file: "email_tricky_8_sent_from_in_content.txt", has: []string{"sent from my iPhone app"}},
		check{file: "email_tricky_9_nested_quotes.txt", has: []string{"I agree with the points"}},
		check{file: "email_tricky_11_double_signature.txt", has: []string{"Thanks for your help"}},
		check{file: "email_tricky_13_timestamp_variations.txt", has: []string{"different timestamp formats"}},
		check{file: "email_tricky_16_unicode_signatures.txt", has: []string{"Thanks for the update"}},
		check{file: "email_tricky_17_forward_header.txt", has: []string{"See the forwarded message"}},
		check{file: "email_tricky_19_quote_without_header.txt", has: []string{"I wanted to respond"}},
		check{file: "email_tricky_20_html_entities.txt", has: []string{"&gt; 100 and &lt; 200"}},
	)
}

func TestCrispCorpus(t *testing.T) {
	dir := corpusDir(t, "email-reply-parser-crisp/test/fixtures")
	checks := crispChecks()
	pass := measure(t, dir, checks, trimFile(t))
	t.Logf("email-reply-parser-crisp: %d/%d checks pass", pass, len(checks))
	if pass < len(checks)*9/10 {
		t.Errorf("crisp regressed: %d/%d", pass, len(checks))
	}
}

func explainFile(t *testing.T, path string) *Explanation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	e, err := Explain(f, Options{})
	if err != nil {
		t.Fatalf("explaining %s: %v", path, err)
	}
	return e
}

// TestTalonCorpus runs mailgun/talon's standard replies (.eml, through
// Explain) and HTML replies (through the HTML cut and Trim). Talon expects
// "Hello" of every standard reply (it keeps the sparrow and iPhone
// signatures, fabu drops them) and "Hi. I am fine. Thanks, Alex" of every
// HTML reply.
func TestTalonCorpus(t *testing.T) {
	dir := corpusDir(t, "talon/tests/fixtures")
	emls, _ := filepath.Glob(filepath.Join(dir, "standard_replies", "*.eml"))
	var checks []check
	for _, f := range emls {
		checks = append(checks, check{file: filepath.Join("standard_replies", filepath.Base(f)), exact: "Hello"})
	}
	pass := measure(t, dir, checks, func(path string) string { return explainFile(t, path).NewText })
	t.Logf("talon standard replies: %d/%d", pass, len(checks))

	htmls, _ := filepath.Glob(filepath.Join(dir, "html_replies", "*.html"))
	var hchecks []check
	for _, f := range htmls {
		hchecks = append(hchecks, check{file: filepath.Join("html_replies", filepath.Base(f)), exact: "Hi. I am fine.\n\nThanks,\nAlex"})
	}
	hchecks = append(hchecks,
		check{file: "OLK_SRC_BODY_SECTION.html", exact: "Reply"},
		check{file: "reply-separated-by-hr.html", exact: "Hi\nthere\nBob"})
	hpass := measure(t, dir, hchecks, func(path string) string { return explainFile(t, path).NewText })
	t.Logf("talon html replies: %d/%d", hpass, len(hchecks))
	if pass < len(checks)-1 || hpass < len(hchecks)-1 {
		t.Errorf("talon regressed: standard %d/%d, html %d/%d", pass, len(checks), hpass, len(hchecks))
	}
}

// TestSisimaiAutoReplies: every out-of-office sample must be detected.
func TestSisimaiAutoReplies(t *testing.T) {
	dir := corpusDir(t, "autoreply-sisimai")
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) == 0 {
		t.Fatalf("no .eml in %s", dir)
	}
	for _, f := range files {
		e := explainFile(t, f)
		t.Logf("%s: auto_reply=%v signal=%q intent=%s", filepath.Base(f), e.AutoReply, e.AutoReplySignal, e.Intent)
		if !e.AutoReply {
			t.Errorf("%s: auto-reply not detected", filepath.Base(f))
		}
		if e.Intent != string(IntentUnclear) {
			t.Errorf("%s: an auto-reply must be unclear, got %s", filepath.Base(f), e.Intent)
		}
	}
}
