package sheet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// scanMergesTokenByToken is scanMerges as it was before it skipped
// tokens in bulk: every token up to a '>' looked at.
func scanMergesTokenByToken(r io.Reader) ([]mergeRange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 64<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '>'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var out []mergeRange
	for sc.Scan() {
		tok := sc.Bytes()
		lt := bytes.LastIndexByte(tok, '<')
		if lt < 0 {
			continue
		}
		tag := tok[lt+1:]
		sp := bytes.IndexAny(tag, " \t\r\n/")
		if sp < 0 {
			continue
		}
		name := tag[:sp]
		if c := bytes.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		if string(name) != "mergeCell" {
			continue
		}
		ref := attr(tag[sp:], "ref")
		m, err := parseRange(ref)
		if err != nil {
			return out, fmt.Errorf("merged range %q: %w", ref, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// chunkReader reads 1 to 4096 bytes at a time.
type chunkReader struct {
	r   io.Reader
	rnd *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), 1+c.rnd.IntN(4096))])
}

// TestScanMergesSkipsTokensLikeBefore: skipping the tokens without
// "mergeCell" in bulk finds what looking at every token found, however
// the reader splits the part.
func TestScanMergesSkipsTokensLikeBefore(t *testing.T) {
	pieces := []string{
		`<row r="1"><c r="A1"><v>1</v></c></row>`, `<mergeCells count="2">`, `</mergeCells>`,
		`<mergeCell ref="B3:B5"/>`, `<mergeCell ref="C1:D1"></mergeCell>`, `<x:mergeCell ref="E2:F9"/>`,
		`<mergeCell ref="bad"/>`, `<t>mergeCell ref="A1:A2"</t>`, `mergeCell`, `<mergeCell>`, `<mergeCell\nref='G1:H2'/>`,
		`<a b=">">`, `>`, `<`, strings.Repeat("x", 300<<10), `<mergeCellX ref="A1:B1"/>`,
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for n := r.IntN(30); n >= 0; n-- {
			p := pieces[r.IntN(len(pieces))]
			if len(p) > 1000 && r.IntN(10) > 0 {
				continue
			}
			b.WriteString(p)
		}
		data := b.String()
		want, werr := scanMergesTokenByToken(strings.NewReader(data))
		readers := map[string]io.Reader{
			"whole": strings.NewReader(data), "halves": iotest.HalfReader(strings.NewReader(data)),
			"EOF with data": iotest.DataErrReader(strings.NewReader(data)),
			"random chunks": &chunkReader{r: strings.NewReader(data), rnd: rand.New(rand.NewPCG(uint64(i), 1))},
		}
		if len(data) < 10000 {
			readers["byte by byte"] = iotest.OneByteReader(strings.NewReader(data))
		}
		for name, rd := range readers {
			got, gerr := scanMerges(rd)
			if !reflect.DeepEqual(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%s: %v, %v; token by token: %v, %v\ninput %.300q", name, got, gerr, want, werr, data)
			}
		}
	}
}
