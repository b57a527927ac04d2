package dora

import (
	"fmt"
	"io"
	"strings"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/render"
)

// WriteMarkdown writes the report for people: the window and what it is compared
// with; a summary per team of the four keys, their tiers and their changes; then,
// per team, narrow tables by theme with a row per service; and at the end how the
// figures are made. With an explanation, each team's section ends with the facts
// behind its figures, and a last section lists those facts' values.
func WriteMarkdown(w io.Writer, rs Reports) error {
	r := rs.Current
	var b strings.Builder
	b.WriteString("# DORA report\n\n")
	fmt.Fprintf(&b, "- Window: %s\n", windowLine(r))
	if hasPrevious(rs) {
		fmt.Fprintf(&b, "- Compared with the previous window: %s\n", windowLine(rs.Previous))
	}
	table, err := tiers.Lookup(r.Table)
	if err != nil {
		fmt.Fprintf(&b, "- DORA table: %s (unknown: no tiers)\n", render.Escape(r.Table))
	} else {
		fmt.Fprintf(&b, "- DORA table: %s (%s)\n", table.Name, table.Source)
	}
	b.WriteString("\nWhat each figure counts, and the DORA table, are at the end: [How these figures are made](#how-these-figures-are-made).\n")

	b.WriteString("\n## Summary\n")
	if len(r.Teams) == 0 {
		b.WriteString("\nNo teams.\n")
	}
	for _, s := range summarize(rs) {
		fmt.Fprintf(&b, "\n### %s\n\n", render.Escape(s.name))
		writeSummary(&b, s)
	}

	for _, t := range r.Teams {
		fmt.Fprintf(&b, "\n## %s\n", render.Escape(t.Name))
		if quiet(t.Figures) {
			b.WriteString("\n" + quietSentence(t.Figures, false) + "\n")
		} else {
			rows := detailRows(t)
			for _, dt := range detailTables {
				fmt.Fprintf(&b, "\n### %s\n\n", dt.title)
				writeDetailTable(&b, dt, rows)
			}
		}
		if t.Explain != nil {
			writeExplain(&b, t.Name, t.Explain)
			for _, s := range t.Services {
				writeExplain(&b, t.Name+" / "+s.Name, s.Explain)
			}
		}
	}

	writeDefinitions(&b, table)
	if r.Facts != nil {
		writeFacts(&b, r)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// windowLine is a window, its length and, when it ends after the report was made,
// how much of it has elapsed.
func windowLine(r aggregate.Report) string {
	s := fmt.Sprintf("%s, %s days, UTC", render.Window(r.From, r.To), render.Trim(r.To.Sub(r.From).Hours()/24, 2))
	if r.AsOf.Before(r.To) {
		s += fmt.Sprintf("; as of %s, %s days elapsed", r.AsOf.UTC().Format(render.TimeLayout), render.Trim(r.ElapsedDays(), 2))
	}
	return s
}

// writeSummary writes a team's four keys: the figure, its tier, the previous
// window's figure and tier, and the change.
func writeSummary(b *strings.Builder, s teamSummary) {
	if s.quiet != "" {
		b.WriteString(s.quiet + "\n")
		return
	}
	b.WriteString("| key | this window | tier | previous window | change |\n| --- | --- | --- | --- | --- |\n")
	for _, k := range s.keys {
		prev := k.previous
		if k.previousTier != tiers.NoTier {
			prev += " (" + k.previousTier.String() + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", k.name, k.value, tierName(k.tier), prev, k.change)
	}
}

// writeDetailTable writes one theme's table: the team's figures, then each
// service's.
func writeDetailTable(b *strings.Builder, dt detailTable, rows []detailRow) {
	b.WriteString("| service")
	for _, c := range dt.columns {
		b.WriteString(" | " + c.head)
	}
	b.WriteString(" |\n| ---")
	for _, c := range dt.columns {
		if c.kind == numberCell {
			b.WriteString(" | ---:")
		} else {
			b.WriteString(" | ---")
		}
	}
	b.WriteString(" |\n")
	for _, row := range rows {
		name := render.Escape(row.name)
		if row.team {
			name = "**" + name + "**"
		}
		b.WriteString("| " + name)
		for _, c := range dt.columns {
			b.WriteString(" | " + c.get(row.figures))
		}
		b.WriteString(" |\n")
	}
}

// writeDefinitions writes "How these figures are made": every definition, then
// the DORA table with flowmeter's reading of its bounds.
func writeDefinitions(b *strings.Builder, t *tiers.Table) {
	b.WriteString("\n## How these figures are made\n\n")
	for _, d := range definitions {
		fmt.Fprintf(b, "- **%s**: %s\n", d.term, d.text)
	}
	if t == nil {
		return
	}
	fmt.Fprintf(b, "\n### DORA table %s\n\n", t.Name)
	b.WriteString("| tier | deployment frequency | lead time | failed-deployment recovery | change failure rate |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, r := range tierRows(t) {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.tier, render.Escape(r.frequency), render.Escape(r.leadTime),
			render.Escape(r.recovery), render.Escape(r.failureRate))
	}
	b.WriteString("\n")
	for _, n := range t.Notes {
		fmt.Fprintf(b, "- %s\n", render.Escape(n))
	}
}
