package reply

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// cutIDs are element ids that start the quoted original in the clients'
// HTML (Outlook, QQ/Exmail, NetEase, 139, Outlook for Mac, Hotmail); an
// "x_" prefix (Outlook quoting a quote) is ignored. Everything from such an
// element on is dropped before the HTML is converted to text.
var cutIDs = map[string]bool{
	"divrplyfwdmsg": true,
	"appendonsend":  true,
	"mail-editor-reference-message-container": true,
	"isreplycontent":       true,
	"isforwardcontent":     true,
	"original-content":     true,
	"origbody":             true,
	"reply139content":      true,
	"orimsghtmlseperator":  true,
	"olk_src_body_section": true,
	"stopspelling":         true,
	"zwchr":                true,
}

// cutClasses are classes that start the quoted original.
var cutClasses = map[string]bool{
	"yahoo_quoted":         true,
	"outlookmessageheader": true,
	"zmail_extra":          true,
}

// outlookBorder matches the top border of Outlook desktop's reply header
// (`border:none;border-top:solid #E1E1E1 1.0pt`, older #B5C4DF).
var outlookBorder = regexp.MustCompile(`border:none;border-top:solid#(e1e1e1|b5c4df)`)

// skipElements hold no visible text.
var skipElements = map[string]bool{
	"head": true, "script": true, "style": true, "title": true, "noscript": true,
	"template": true, "xml": true, "svg": true, "object": true, "iframe": true,
}

// blockElements end the current line when they start or end.
var blockElements = map[string]bool{
	"p": true, "div": true, "li": true, "ul": true, "ol": true, "dl": true, "dt": true,
	"dd": true, "table": true, "tr": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "pre": true, "section": true, "article": true,
	"header": true, "footer": true, "center": true, "address": true, "form": true,
	"fieldset": true, "tbody": true, "thead": true, "tfoot": true, "caption": true,
	"body": true, "html": true, "main": true, "nav": true, "aside": true, "figure": true,
}

// htmlDelimiter stands for <hr> in the text, a line the trimmer cuts at.
const htmlDelimiter = "________________________________"

// htmlToText converts an HTML body to text. It stops at the first quote
// marker (returned as cut), renders blockquotes as "> " lines (so quoted text
// is never taken for new text), <hr> as a delimiter line, and skips
// script/style/head.
func htmlToText(src string) (string, string) {
	z := html.NewTokenizer(strings.NewReader(src))
	var b textBuilder
	skip, pre := 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String(), ""
		case html.TextToken:
			if skip == 0 {
				b.text(string(z.Text()), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			name := tok.Data
			if skipElements[name] {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 {
				continue
			}
			if m := cutMarker(tok); m != "" {
				return b.String(), m
			}
			b.startTag(name, tt == html.SelfClosingTagToken, &pre)
		case html.EndTagToken:
			name, _ := z.TagName()
			n := string(name)
			if skipElements[n] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip == 0 {
				b.endTag(n, &pre)
			}
		}
	}
}

// cutMarker names the quote marker tok is, or returns "".
func cutMarker(tok html.Token) string {
	for _, a := range tok.Attr {
		v := strings.ToLower(strings.TrimSpace(a.Val))
		switch a.Key {
		case "id":
			id := v
			for strings.HasPrefix(id, "x_") {
				id = id[2:]
			}
			if cutIDs[id] {
				return tok.Data + "#" + a.Val
			}
		case "class":
			for _, c := range strings.Fields(v) {
				for strings.HasPrefix(c, "x_") {
					c = c[2:]
				}
				if cutClasses[c] {
					return tok.Data + "." + c
				}
			}
		case "style":
			s := strings.Join(strings.Fields(v), "")
			if tok.Data == "div" && outlookBorder.MatchString(s) {
				return "div[style=border-top:solid " + outlookBorder.FindStringSubmatch(s)[1] + "]"
			}
		}
	}
	return ""
}

// textBuilder accumulates lines; quote is the blockquote depth.
type textBuilder struct {
	out   strings.Builder
	line  strings.Builder
	quote int
}

func (b *textBuilder) text(s string, pre bool) {
	if pre {
		parts := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		for i, p := range parts {
			if i > 0 {
				b.flush(true)
			}
			b.line.WriteString(p)
		}
		return
	}
	s = collapseSpace(s)
	if b.line.Len() == 0 {
		s = strings.TrimLeft(s, " ")
	}
	b.line.WriteString(s)
}

func (b *textBuilder) startTag(name string, selfClosing bool, pre *int) {
	switch {
	case name == "br":
		b.flush(true)
	case name == "hr":
		b.flush(false)
		b.line.WriteString(htmlDelimiter)
		b.flush(false)
	case name == "blockquote":
		b.flush(false)
		b.blankLine()
		if !selfClosing {
			b.quote++
		}
	case name == "td" || name == "th":
		if b.line.Len() > 0 {
			b.line.WriteByte(' ')
		}
	case blockElements[name]:
		b.flush(false)
		if name == "pre" && !selfClosing {
			*pre++
		}
	}
}

func (b *textBuilder) endTag(name string, pre *int) {
	switch {
	case name == "blockquote":
		b.flush(false)
		if b.quote > 0 {
			b.quote--
		}
		b.blankLine()
	case blockElements[name]:
		b.flush(false)
		if name == "pre" && *pre > 0 {
			*pre--
		}
	}
}

// flush ends the current line; an empty line is written only when force.
func (b *textBuilder) flush(force bool) {
	content := strings.TrimRight(b.line.String(), " \t")
	b.line.Reset()
	if content == "" && !force {
		return
	}
	if b.quote > 0 {
		b.out.WriteString(strings.Repeat("> ", b.quote))
	}
	b.out.WriteString(content)
	b.out.WriteByte('\n')
}

// blankLine separates a quote from what is around it, so that text next to a
// blockquote is never taken for the quote's wrapped continuation.
func (b *textBuilder) blankLine() {
	s := b.out.String()
	if s == "" || strings.HasSuffix(s, "\n\n") || strings.HasSuffix(s, "> \n") {
		return
	}
	b.flush(true)
}

func (b *textBuilder) String() string {
	b.flush(false)
	return b.out.String()
}

// collapseSpace turns each run of HTML white space into one space.
func collapseSpace(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			if !space {
				sb.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		sb.WriteRune(r)
	}
	return sb.String()
}
