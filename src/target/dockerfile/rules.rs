//! docmatrix's own Dockerfile rules.
