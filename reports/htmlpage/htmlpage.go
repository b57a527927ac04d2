// Package htmlpage writes a report as one self-contained HTML file: inline CSS and
// SVG, no scripts, no external requests, so it opens from disk or an email, prints,
// and follows the reader's dark mode.
package htmlpage

import (
	"html/template"
	"io"

	"github.com/flowmeter/flowmeter/reports/chart"
)

// Page is one report page.
type Page struct {
	// Title is the page's <title> and heading; Subtitle a line under it (the
	// window, the as-of time).
	Title, Subtitle string
	// Nav links the page to its neighbours (other teams, other reports); empty in
	// files written by `flowmeter report`.
	Nav []Link
	// Body is the report's own HTML.
	Body template.HTML
	// Footer is a line of small print (how the figures were made).
	Footer string
}

// Link is a navigation link.
type Link struct {
	Text, Href string
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<header><h1>{{.Title}}</h1>{{with .Subtitle}}<p class="subtitle">{{.}}</p>{{end}}
{{with .Nav}}<nav>{{range .}}<a href="{{.Href}}">{{.Text}}</a> {{end}}</nav>{{end}}</header>
<main>
{{.Body}}
</main>
{{with .Footer}}<footer>{{.}}</footer>{{end}}
</body>
</html>
`))

// CSS is the page's style, the charts' included.
var CSS = template.CSS(`body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem}
table{border-collapse:collapse}td,th{padding:.2rem .5rem;border-bottom:1px solid #8884}
` + chart.CSS)

// Write writes the page.
func Write(w io.Writer, p Page) error {
	return page.Execute(w, struct {
		Page
		CSS template.CSS
	}{p, CSS})
}
