//! Shell blocks: scripts (`bash`, `sh`, `zsh`) and terminal sessions (`console`).
