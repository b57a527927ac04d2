package chart

// CSS styles the charts' classes, in light and dark mode and in print; a page
// includes it once in its <style>, Standalone puts it inside the file.
//
// Text takes the colour of the page around it (currentColor). Series s0–s5 differ
// in lightness as well as hue, lines also by their dashes, and wait is hatched
// where work is solid, so that a chart printed in grey still reads. Print uses the
// light colours with black text whatever the screen's mode. An SVG file opened on
// its own (:root) gets a background of its mode's colour.
const CSS = `svg.chart{max-width:100%;height:auto;font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
svg.chart:root{color:#1c1c1c;background:#fff}
svg.chart text{fill:currentColor}
svg.chart .heading{font-size:14px;font-weight:600}
svg.chart .label{font-size:12px}
svg.chart .tick{fill-opacity:.8}
svg.chart .tick,svg.chart .legend,svg.chart .value,svg.chart .note,svg.chart .total{font-size:11px}
svg.chart .nodata{font-style:italic}
svg.chart .axis{stroke:currentColor;stroke-width:1;fill:none}
svg.chart .grid{stroke:currentColor;stroke-opacity:.15;stroke-width:1}
svg.chart .s0{fill:#1f4e8c;stroke:#1f4e8c}
svg.chart .s1{fill:#f0a04b;stroke:#f0a04b}
svg.chart .s2{fill:#2a9d8f;stroke:#2a9d8f}
svg.chart .s3{fill:#6b2d78;stroke:#6b2d78}
svg.chart .s4{fill:#a8c8ec;stroke:#a8c8ec}
svg.chart .s5{fill:#b5452c;stroke:#b5452c}
svg.chart path.line,svg.chart line.line{fill:none;stroke-width:2.5}
svg.chart .line.s1{stroke-dasharray:8 4}
svg.chart .line.s2{stroke-dasharray:2 3}
svg.chart .line.s3{stroke-dasharray:10 3 2 3}
svg.chart .line.s4{stroke-dasharray:4 4}
svg.chart .line.s5{stroke-dasharray:12 4 4 4}
svg.chart .point{stroke-width:1}
svg.chart .bin{fill:#1f4e8c}
svg.chart .marker{stroke:currentColor;stroke-width:1.5;stroke-dasharray:5 4}
svg.chart .work{fill:#1f4e8c}
svg.chart .wait{stroke:#a65a00;stroke-width:1}
svg.chart .hatch-ground{fill:#fde8cc}
svg.chart .hatch{stroke:#a65a00;stroke-width:2}
svg.chart .leader{stroke:currentColor;stroke-opacity:.4}
svg.chart .segment{fill:#1f4e8c}
svg.chart .segment.alt{fill:#7ea6d8}
svg.chart .marked .segment{fill:#a8430f}
svg.chart .marked .segment.alt{fill:#ee9a62}
svg.chart .mark{font-weight:600}
@media screen and (prefers-color-scheme:dark){
svg.chart:root{color:#e4e4e4;background:#16181c}
svg.chart .s0{fill:#6fa8ee;stroke:#6fa8ee}
svg.chart .s1{fill:#f5c07f;stroke:#f5c07f}
svg.chart .s2{fill:#4cc9b8;stroke:#4cc9b8}
svg.chart .s3{fill:#c58bd3;stroke:#c58bd3}
svg.chart .s4{fill:#dcebfb;stroke:#dcebfb}
svg.chart .s5{fill:#e8826a;stroke:#e8826a}
svg.chart .bin,svg.chart .work,svg.chart .segment{fill:#6fa8ee}
svg.chart .segment.alt{fill:#b7d3f5}
svg.chart .wait,svg.chart .hatch{stroke:#f5b35f}
svg.chart .hatch-ground{fill:#3d2c16}
svg.chart .marked .segment{fill:#f08a4b}
svg.chart .marked .segment.alt{fill:#f8c29c}
}
@media print{
svg.chart,svg.chart:root{color:#000;background:#fff}
}
`
