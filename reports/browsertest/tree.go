package browsertest

import (
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// Node is an element of parsed markup: its name (without namespace), its
// attributes, and its children in order, text included.
type Node struct {
	Name     string
	Attr     map[string]string
	Children []*Node
	// text is the character data of a text node (Name "").
	text string
}

// ParseXML reads SVG or XHTML as strict XML, failing the test when it is not
// well-formed: a chart written into a page or a file must be.
func ParseXML(t testing.TB, markup string) *Node {
	t.Helper()
	return parse(t, xml.NewDecoder(strings.NewReader(markup)))
}

// ParseHTML reads an HTML document as browsers and the reports write it: void
// elements (<meta>, <br>) need no end tag, an end tag closes the elements left
// open inside it, and HTML's named entities are known. An end tag of no open
// element fails the test.
func ParseHTML(t testing.TB, markup string) *Node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(markup))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	return parse(t, d)
}

func parse(t testing.TB, d *xml.Decoder) *Node {
	t.Helper()
	root := &Node{Name: "#document", Attr: map[string]string{}}
	open := []*Node{root}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("browsertest: markup does not parse: %v", err)
		}
		parent := open[len(open)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: strings.ToLower(tok.Name.Local), Attr: map[string]string{}}
			for _, a := range tok.Attr {
				name := a.Name.Local
				if a.Name.Space != "" && a.Name.Space != "xmlns" {
					name = a.Name.Space + ":" + name
				}
				n.Attr[strings.ToLower(name)] = a.Value
			}
			parent.Children = append(parent.Children, n)
			open = append(open, n)
		case xml.EndElement:
			if len(open) == 1 {
				t.Fatalf("browsertest: markup closes <%s>, which is not open", tok.Name.Local)
			}
			open = open[:len(open)-1]
		case xml.CharData:
			parent.Children = append(parent.Children, &Node{text: string(tok)})
		}
	}
	if len(open) > 1 {
		t.Fatalf("browsertest: markup leaves <%s> open", open[len(open)-1].Name)
	}
	return root
}

// walk calls f on n and every element under it, in document order.
func (n *Node) walk(f func(*Node)) {
	if n.Name == "" {
		return
	}
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

// All returns the elements under n (n included) with the name, and with every
// class given, in document order.
func (n *Node) All(name string, classes ...string) []*Node {
	var out []*Node
	n.walk(func(e *Node) {
		if e.Name != name {
			return
		}
		for _, c := range classes {
			if !e.HasClass(c) {
				return
			}
		}
		out = append(out, e)
	})
	return out
}

// First is the first element All finds, nil when there is none.
func (n *Node) First(name string, classes ...string) *Node {
	if all := n.All(name, classes...); len(all) > 0 {
		return all[0]
	}
	return nil
}

// HasClass reports whether the element's class attribute lists c.
func (n *Node) HasClass(c string) bool {
	return slices.Contains(strings.Fields(n.Attr["class"]), c)
}

// Text is the text under n, as written (entities decoded).
func (n *Node) Text() string {
	if n.Name == "" {
		return n.text
	}
	var b strings.Builder
	for _, c := range n.Children {
		b.WriteString(c.Text())
	}
	return b.String()
}

// Elements are n's child elements, without text.
func (n *Node) Elements() []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Name != "" {
			out = append(out, c)
		}
	}
	return out
}
