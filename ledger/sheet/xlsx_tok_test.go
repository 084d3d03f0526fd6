package sheet

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// refToken is a token as encoding/xml gives it, in the tokenizer's terms.
type refToken struct {
	kind  tokKind
	name  string // prefix:local as written
	local string
	attrs []string // name=value
	text  string
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// refTokens reads data with encoding/xml as excelize does (Strict): the
// tokens up to the first error or EOF (comments, processing instructions
// and directives left out), and the error (nil at a clean EOF).
func refTokens(data []byte, max int) ([]refToken, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	raw := xml.NewDecoder(bytes.NewReader(data)) // same tokens, names as written
	var out []refToken
	for len(out) < max {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		rtok, rerr := raw.RawToken()
		if rerr != nil {
			return out, errors.New("RawToken failed where Token did not: " + rerr.Error())
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			rs := rtok.(xml.StartElement)
			r := refToken{kind: tokStart, name: rawName(rs.Name), local: tk.Name.Local}
			for _, a := range rs.Attr {
				r.attrs = append(r.attrs, rawName(a.Name)+"="+a.Value)
			}
			out = append(out, r)
		case xml.EndElement:
			out = append(out, refToken{kind: tokEnd, name: rawName(rtok.(xml.EndElement).Name), local: tk.Name.Local})
		case xml.CharData:
			out = append(out, refToken{kind: tokText, text: string(tk)})
		}
	}
	return out, nil
}

// ourTokens reads data with xmlTok (in memory, or streamed a byte at a
// time through a tiny buffer): the tokens and the error it stopped on.
func ourTokens(data []byte, streamed bool, max int) ([]refToken, *scanError) {
	t := newXMLTokBytes(data)
	if streamed {
		t = newXMLTokSize(iotest.OneByteReader(bytes.NewReader(data)), 4, 1<<20)
	}
	var out []refToken
	for len(out) < max {
		switch t.next() {
		case tokErr:
			return out, t.err
		case tokEOF:
			return out, nil
		case tokStart:
			r := refToken{kind: tokStart, name: string(t.name), local: string(t.local)}
			for _, a := range t.attrs {
				r.attrs = append(r.attrs, string(a.name)+"="+string(a.value))
			}
			out = append(out, r)
		case tokEnd:
			out = append(out, refToken{kind: tokEnd, name: string(t.name), local: string(t.local)})
		case tokText:
			out = append(out, refToken{kind: tokText, text: string(t.text)})
		}
	}
	return out, nil
}

// checkTokens holds xmlTok to encoding/xml on data: the same tokens while
// it reads; a syntax error only where encoding/xml fails too; EOF only
// where encoding/xml ends cleanly. An unsupported stop proves nothing
// more than the tokens before it.
func checkTokens(t *testing.T, data []byte) {
	t.Helper()
	const max = 100000
	want, werr := refTokens(data, max)
	for _, streamed := range []bool{false, true} {
		got, gerr := ourTokens(data, streamed, max)
		n := min(len(got), len(want))
		for i := 0; i < n; i++ {
			if !equalTok(got[i], want[i]) {
				t.Fatalf("streamed=%v: token %d is %+v, encoding/xml gives %+v\ninput %q", streamed, i, got[i], want[i], data)
			}
		}
		if len(got) >= max || len(want) >= max {
			continue
		}
		switch {
		case gerr != nil && gerr.kind == errUnsupported:
			if len(got) > len(want) {
				t.Fatalf("streamed=%v: %d tokens before %v, but encoding/xml fails after %d (%v)\ninput %q", streamed, len(got), gerr, len(want), werr, data)
			}
		case gerr != nil: // a syntax error: encoding/xml must fail at the same token
			if werr == nil || len(want) != len(got) {
				t.Fatalf("streamed=%v: syntax error %v after %d tokens; encoding/xml: %d tokens, error %v\ninput %q", streamed, gerr, len(got), len(want), werr, data)
			}
		default: // a clean end
			if werr != nil || len(want) != len(got) {
				t.Fatalf("streamed=%v: clean end after %d tokens; encoding/xml: %d tokens, error %v\ninput %q", streamed, len(got), len(want), werr, data)
			}
		}
	}
}

func equalTok(a, b refToken) bool {
	if a.kind != b.kind || a.name != b.name || a.local != b.local || a.text != b.text || len(a.attrs) != len(b.attrs) {
		return false
	}
	for i := range a.attrs {
		if a.attrs[i] != b.attrs[i] {
			return false
		}
	}
	return true
}

// tokenizerCases are XML snippets at the edges of what encoding/xml
// accepts; they also seed FuzzSheetXML.
var tokenizerCases = []struct{ name, xml string }{
	{"plain", `<a x="1" y='2'>text</a>`},
	{"declaration", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n<a/>"},
	{"declaration lower-case utf-8", `<?xml version='1.0' encoding='utf-8'?><a/>`},
	{"declaration other encoding", `<?xml version="1.0" encoding="GBK"?><a/>`},
	{"declaration bad version", `<?xml version="1.1"?><a/>`},
	{"processing instruction", `<a><?pi some content?></a>`},
	{"processing instruction unterminated", `<a><?pi some content</a>`},
	{"entities", `<a b="&lt;&gt;&amp;&apos;&quot;">&lt;&gt;&amp;&apos;&quot;</a>`},
	{"character references", `<a>&#10;&#x4E2D;&#X41;</a>`},
	{"character reference upper-case hex digits", `<a>&#x4e2d;&#xABCD;</a>`},
	{"character reference to a surrogate", `<a>&#xD800;</a>`},
	{"character reference to NUL", `<a>&#0;</a>`},
	{"character reference past Unicode", `<a>&#x110000;</a>`},
	{"character reference empty", `<a>&#;</a>`},
	{"character reference without semicolon", `<a>&#65</a>`},
	{"unknown entity", `<a>&nbsp;</a>`},
	{"entity without semicolon", `<a>&amp</a>`},
	{"bare ampersand", `<a>a & b</a>`},
	{"CR LF and CR", "<a x=\"1\r\n2\r3\">l1\r\nl2\rl3\r</a>"},
	{"CR reference then LF", "<a>&#13;\n&#13;&#10;</a>"},
	{"CDATA", "<a><![CDATA[<b>&amp;]]]]><![CDATA[>\r\n]]></a>"},
	{"CDATA empty", `<a><![CDATA[]]></a>`},
	{"CDATA unterminated", `<a><![CDATA[abc</a>`},
	{"CDATA misspelt", `<a><![CDATX[abc]]></a>`},
	{"]]> in text", `<a>x]]>y</a>`},
	{"]] at the end of text", `<a>x]]</a>`},
	{"comment", `<a><!-- a - b --></a><!---->`},
	{"comment with --", `<a><!-- a -- b --></a>`},
	{"comment unterminated", `<a><!-- a </a>`},
	{"<!- not a comment", `<a><!-x--></a>`},
	{"doctype", `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`},
	{"self-closing", `<a><b/><c x="1"/></a>`},
	{"space in tags", "<a \t\r\n x \n=\n '1' ></a \n>"},
	{"attributes without space between", `<a x="1"y="2"/>`},
	{"attribute without value", `<a x></a>`},
	{"attribute unquoted", `<a x=1></a>`},
	{"attribute with <", `<a x="<"></a>`},
	{"attribute with > and ]]>", `<a x="]]>"></a>`},
	{"attribute unterminated", `<a x="1></a>`},
	{"prefixes", `<x:a xmlns:x="u" x:b="1" xmlns="v"><x:c/></x:a>`},
	{"two colons", `<a:b:c/>`},
	{"leading colon", `<:a :b="1"></:a>`},
	{"trailing colon", `<a: b:="1"></a:>`},
	{"name starting with a digit", `<1a/>`},
	{"name starting with a dot", `<a><.b/></a>`},
	{"non-ASCII name", `<a><名/></a>`},
	{"space after <", `< a/>`},
	{"mismatched end", `<a><b></a></b>`},
	{"end prefix differs", `<x:a></y:a>`},
	{"unexpected end", `</a>`},
	{"junk after end name", `<a></a b>`},
	{"/ without >", `<a/ >`},
	{"unexpected EOF in element", `<a><b>`},
	{"unexpected EOF in tag", `<a`},
	{"EOF after <", `<`},
	{"text only", `just text`},
	{"text after root", `<a/>tail`},
	{"invalid UTF-8", "<a>\xff</a>"},
	{"invalid UTF-8 in attribute", "<a x=\"\xc3\"/>"},
	{"truncated UTF-8 at the end", "<a/>\xe4\xb8"},
	{"control character", "<a>\x01</a>"},
	{"control character in attribute", "<a x=\"\x1f\"/>"},
	{"U+FFFE", "<a>\uFFFE</a>"},
	{"U+FFFD", "<a>\uFFFD</a>"},
	{"BOM", "\uFEFF<a/>"},
	{"Chinese and emoji", "<a 名称=\"x\">中文😀</a>"},
	{"encoded surrogate", "<a>\xed\xa0\x80</a>"},
}

func TestTokenizerMatchesEncodingXML(t *testing.T) {
	for _, tc := range tokenizerCases {
		t.Run(tc.name, func(t *testing.T) {
			checkTokens(t, []byte(tc.xml))
		})
	}
}

// TestTokenizerRefusesHugeTokens: a token over the buffer cap stops the
// tokenizer (unsupported) instead of growing without bound.
func TestTokenizerRefusesHugeTokens(t *testing.T) {
	data := "<a>" + strings.Repeat("x", 1000) + "</a>"
	tok := newXMLTokSize(strings.NewReader(data), 16, 256)
	for {
		k := tok.next()
		if k == tokErr {
			if tok.err.kind != errUnsupported || !strings.Contains(tok.err.Error(), "over") {
				t.Fatalf("stopped on %v, want the size cap", tok.err)
			}
			return
		}
		if k == tokEOF || k == tokText {
			t.Fatalf("read a %d-byte text with a 256-byte cap", len(data))
		}
	}
}
