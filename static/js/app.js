// Behaviour shared by every page; the assessment form has its own module.
"use strict";
