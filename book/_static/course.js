// Default colour mode before the theme reads it (avoids "Got invalid theme mode").
if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }
