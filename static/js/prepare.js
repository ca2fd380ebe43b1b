// The pre-event page (cards filled at home): the form goes in the background and waits out a bad connection
// (forms.js); card fields grow with their text, the Save bar stays above the keyboard (typing.js).
import { backgroundForms } from "./forms.js";
import { autoGrow, keyboardInset } from "./typing.js";

keyboardInset();
autoGrow();
backgroundForms({ onPage: () => autoGrow() });
