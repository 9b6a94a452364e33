// Inline SVG icons (no emoji: a phone or kiosk without an emoji font shows boxes).
// Drawn on a 24×24 grid, stroked with the current text colour.

const PATHS = {
  up: "M7 11v9H4v-9h3zm0 0 4-8c1.7 0 2.5 1 2.2 2.6L12.6 9H18c1.3 0 2.2 1.2 1.9 2.4l-1.6 6.8c-.2.9-1 1.8-2 1.8H7",
  down: "M17 13V4h3v9h-3zm0 0-4 8c-1.7 0-2.5-1-2.2-2.6l.6-3.4H6c-1.3 0-2.2-1.2-1.9-2.4l1.6-6.8C5.9 4.9 6.7 4 7.7 4H17",
  clip: "M20 11.5 12.2 19.3a5 5 0 0 1-7-7L13 4.4a3.4 3.4 0 0 1 4.8 4.8L10 17a1.7 1.7 0 0 1-2.4-2.4l7.1-7.1",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6",
  phone: "M8 2h8a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zM11 18h2",
  desktop: "M4 5h16v10H4zM2 19h20M9 15l-.5 4M15 15l.5 4",
  bag: "M5 8h14l-1 12H6L5 8zM9 8V6a3 3 0 0 1 6 0v2",
};

const NS = "http://www.w3.org/2000/svg";

export function icon(name, size = 18) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.style.flex = "none";
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", PATHS[name]);
  svg.append(path);
  return svg;
}
