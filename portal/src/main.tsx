import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { applyBranding, applyTheme } from "./branding";
import { initialTheme, takeUrlParams } from "./session";
import "./styles.css";

// First thing: take the token out of the address bar.
takeUrlParams();
applyBranding();
applyTheme(initialTheme()); // before the first paint, so a dark page does not flash light

const root = document.getElementById("root");
if (!root) throw new Error("missing #root");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
