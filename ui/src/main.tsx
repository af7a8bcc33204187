// The control panel's entry: takes the token from the launch URL's
// fragment, starts the live feed and renders the app.

import { render } from "preact";
import { takeToken, useToken } from "./api.js";
import { App } from "./app.js";
import "./style.css";

const token = takeToken();
if (token) useToken(token);
const root = document.getElementById("app");
if (root) render(<App token={token} />, root);
