package sheet

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the character level of xmlTok: character data, the
// decoding of attribute values and text (entities, character references,
// line ends) and the checks encoding/xml makes on them.

func (t *xmlTok) charData() tokKind {
	buf := t.buf[:t.end]
	i, plain := t.pos, true
	for i < len(buf) {
		c := buf[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '<' && c != '&' && c != ']' {
			i++
			continue
		}
		if c == '<' {
			break
		}
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				if !t.eof && len(buf)-i < utf8.UTFMax && !utf8.FullRune(buf[i:]) {
					return tokShort
				}
				return t.fail(errSyntax, i, "invalid UTF-8")
			}
			if !inXMLRange(r) {
				return t.fail(errSyntax, i, "illegal character code %U", r)
			}
			i += size
			continue
		case c == ']':
			if i+2 >= len(buf) && !t.eof {
				return tokShort
			}
			if i+2 < len(buf) && buf[i+1] == ']' && buf[i+2] == '>' {
				return t.fail(errSyntax, i, "unescaped ]]> not in CDATA section")
			}
		case c == '\t' || c == '\n':
		default: // &, CR, a control character
			plain = false
		}
		i++
	}
	if i == len(buf) && !t.eof {
		return tokShort
	}
	raw := buf[t.pos:i]
	if plain {
		t.text = raw
	} else {
		text, bad, msg := t.decode(raw, false)
		if msg != "" {
			return t.fail(errSyntax, t.pos+bad, "%s", msg)
		}
		t.text = text
	}
	t.pos = i
	return tokText
}

// procInstParam is encoding/xml's procInst: the value of param in the
// content of an <?xml …?> declaration.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// inXMLRange is encoding/xml's isInCharacterRange.
func inXMLRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// decode returns raw character data or an attribute value (without its
// quotes) as encoding/xml's text() does; on a syntax error msg says why
// and bad is the offset in raw. Clean input is returned as is.
func (t *xmlTok) decode(raw []byte, attr bool) (out []byte, bad int, msg string) {
	i := 0
	for i < len(raw) {
		c := raw[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, i, "invalid UTF-8"
			}
			if !inXMLRange(r) {
				return nil, i, fmt.Sprintf("illegal character code %U", r)
			}
			i += size
			continue
		}
		if c == '\t' || c == '\n' {
			i++
			continue
		}
		break // CR, &, <, or a control character: the slow way
	}
	if i == len(raw) {
		return raw, 0, ""
	}
	start := len(t.scratch)
	out = append(t.scratch, raw[:i]...)
	prevCR := false
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '&':
			s, n, m := entity(raw[i:])
			if m != "" {
				return nil, i, m
			}
			out = append(out, s...)
			i += n
			prevCR = false
			continue
		case c == '<' && attr:
			return nil, i, "unescaped < inside quoted string"
		case c == '\r':
			out = append(out, '\n')
			prevCR = true
			i++
			continue
		case c == '\n' && prevCR:
			prevCR = false
			i++
			continue
		}
		prevCR = false
		out = append(out, c)
		i++
	}
	// Check what was decoded, character references included.
	for k := start; k < len(out); {
		c := out[k]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r' {
			k++
			continue
		}
		r, size := utf8.DecodeRune(out[k:])
		if r == utf8.RuneError && size == 1 {
			return nil, 0, "invalid UTF-8"
		}
		if !inXMLRange(r) {
			return nil, 0, fmt.Sprintf("illegal character code %U", r)
		}
		k += size
	}
	t.scratch = out
	return out[start:], 0, ""
}

// decodeCDATA is decode for the inside of a CDATA section: no entities,
// only the line ends rewritten.
func (t *xmlTok) decodeCDATA(raw []byte) ([]byte, int, string) {
	start := len(t.scratch)
	out := t.scratch
	prevCR := false
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, i, "invalid UTF-8"
			}
			if !inXMLRange(r) {
				return nil, i, fmt.Sprintf("illegal character code %U", r)
			}
			out = append(out, raw[i:i+size]...)
			i += size
			prevCR = false
			continue
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return nil, i, fmt.Sprintf("illegal character code %U", rune(c))
		}
		switch {
		case c == '\r':
			out = append(out, '\n')
			prevCR = true
		case c == '\n' && prevCR:
			prevCR = false
		default:
			out = append(out, c)
			prevCR = false
		}
		i++
	}
	t.scratch = out
	return out[start:], 0, ""
}

// entity decodes the reference at the start of s (s[0] == '&') as
// encoding/xml does in Strict mode: the five predefined entities and
// decimal or (lower-case x) hexadecimal character references; a
// reference to a surrogate becomes U+FFFD. It returns the text and the
// bytes used, or an error message.
func entity(s []byte) (string, int, string) {
	if len(s) >= 2 && s[1] == '#' {
		i, base := 2, 10
		if i < len(s) && s[i] == 'x' {
			base = 16
			i++
		}
		d := i
		for i < len(s) && ('0' <= s[i] && s[i] <= '9' || base == 16 && ('a' <= s[i] && s[i] <= 'f' || 'A' <= s[i] && s[i] <= 'F')) {
			i++
		}
		if i < len(s) && s[i] == ';' {
			n, err := strconv.ParseUint(string(s[d:i]), base, 64)
			if err == nil && n <= unicode.MaxRune {
				return string(rune(n)), i + 1, ""
			}
		}
		return "", 0, "invalid character entity " + refText(s, i)
	}
	i := 1
	for i < len(s) && (isNameByte(s[i]) || s[i] >= utf8.RuneSelf) {
		i++
	}
	if i < len(s) && s[i] == ';' {
		switch string(s[1:i]) {
		case "lt":
			return "<", i + 1, ""
		case "gt":
			return ">", i + 1, ""
		case "amp":
			return "&", i + 1, ""
		case "apos":
			return "'", i + 1, ""
		case "quot":
			return `"`, i + 1, ""
		}
	}
	return "", 0, "invalid character entity " + refText(s, i)
}

func refText(s []byte, i int) string {
	if i < len(s) && s[i] == ';' {
		return string(s[:i+1])
	}
	return string(s[:min(i, len(s))]) + " (no semicolon)"
}
