"""The dialog's panels: one controller per tab, each owning its widgets and its part of the job."""
