package flow

import (
	"fmt"
	"io"
	"strings"

	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/render"
)

// WriteReviewMarkdown writes the review as text and tables: the window and
// what it is compared with, a section per team then the organisation, and how
// the figures are made.
func WriteReviewMarkdown(w io.Writer, r flow.Review) error {
	var b strings.Builder
	n := namesOf(r)
	fmt.Fprintf(&b, "# Flow review %s\n\n", n.current)
	cur := r.Current
	fmt.Fprintf(&b, "- Window: %s, %s days, UTC\n", render.Window(cur.From, cur.To), render.Trim(cur.To.Sub(cur.From).Hours()/24, 2))
	if cur.AsOf.Before(cur.To) {
		fmt.Fprintf(&b, "- As of %s UTC: the window is counted up to it\n", cur.AsOf.UTC().Format(render.TimeLayout))
	}
	fmt.Fprintf(&b, "- Compared with the previous window, %s: %s\n", n.previous, render.Window(r.Previous.From, r.Previous.To))
	fmt.Fprintf(&b, "- And with the same window a year earlier, %s: %s\n", n.yearEarlier, render.Window(r.YearEarlier.From, r.YearEarlier.To))
	for _, t := range r.Teams {
		writeTeamReview(&b, t, n, false)
	}
	if r.Organisation != nil {
		writeTeamReview(&b, *r.Organisation, n, true)
	}
	b.WriteString("\n## How these figures are made\n\n" + howMade(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTeamReview(b *strings.Builder, t flow.TeamReview, n windowNames, organisation bool) {
	fmt.Fprintf(b, "\n## %s\n\n", render.Escape(t.Name))
	fmt.Fprintf(b, "Durations: %s.\n", ReviewDurations(t))
	if note := mixedNote(t); note != "" {
		b.WriteString("\n" + note + "\n")
	}
	if t.NoWork() {
		b.WriteString("\n" + noWorkSentence(t.Name, n.current) + "\n")
		return
	}
	fmt.Fprintf(b, "\nFinished %d (%d reopened), canceled %d, open at the end %d.\n",
		t.Current.Finished, t.Current.Reopened, t.Current.Canceled, t.Current.OpenItems)
	writeMarkdownTable(b, efficiencyTable(t, n))
	if len(t.Observations) > 0 {
		b.WriteString("\n### Observations\n\n")
		for _, o := range t.Observations {
			b.WriteString("- " + sentence(o, t, n) + "\n")
		}
	}
	b.WriteString("\n### Active and wait time\n")
	writeMarkdownTable(b, activeWaitTable(t))
	if len(t.Waits) > 0 {
		b.WriteString("\n### Where work waited\n")
		writeMarkdownTable(b, waitsTable(t))
	}
	b.WriteString("\n### Flow time\n")
	writeMarkdownTable(b, flowTimeTable(t))
	if t.Current.Finished > 0 {
		fmt.Fprintf(b, "\nFlow times of the finished items, in %s:\n", dayUnit(t))
		writeMarkdownTable(b, histogramTable(t))
		fmt.Fprintf(b, "\nAll flow types: %s.\n", markersLine(t))
	}
	b.WriteString("\n### Open work and delivery\n")
	writeMarkdownTable(b, openWorkTable(t))
	b.WriteString("\n### Load and velocity by week\n")
	writeMarkdownTable(b, weeksTable(t))
	fmt.Fprintf(b, "\n### Distribution, %s and %s\n", n.current, n.previous)
	writeMarkdownTable(b, distributionTable(t, n))
	if len(t.Worst) > 0 {
		b.WriteString("\n### Least efficient items\n")
		writeMarkdownTable(b, worstTable(t, organisation))
	}
	b.WriteString("\n### Value-stream map\n\n" + valueStreamLine(t.ValueStream) + "\n")
	if t.ValueStream.Mapped > 0 {
		writeMarkdownTable(b, valueStreamTable(t.ValueStream))
	}
	b.WriteString("\n### DORA\n\n" + doraLine(t, organisation) + "\n")
	if len(t.DORA) > 0 {
		writeMarkdownTable(b, doraTable(t.DORA))
	}
}

// writeMarkdownTable writes a table after a blank line; links are Markdown
// links, and every cell is escaped.
func writeMarkdownTable(b *strings.Builder, t table) {
	b.WriteString("\n|")
	for _, h := range t.head {
		b.WriteString(" " + render.Escape(h) + " |")
	}
	b.WriteString("\n|")
	for _, num := range t.numeric {
		if num {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, row := range t.rows {
		b.WriteString("|")
		for _, c := range row {
			text := markdownText(c.text)
			if c.href != "" {
				text = "[" + text + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20").Replace(c.href) + ">)"
			}
			b.WriteString(" " + text + " |")
		}
		b.WriteString("\n")
	}
}

// markdownText keeps text from a tracker (a title) from becoming markup in a
// table cell: pipes and line breaks as render.Escape does, and the characters
// that start emphasis, links, code or HTML, backslash-escaped.
func markdownText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`,
		"|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
