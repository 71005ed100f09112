//! Database tables as DataFusion sources (projection, filters and limit pushed down as
//! SQL in the connection's dialect) and as destinations, over the drivers' bulk paths
//! ([`connectors::database::transfer`]).
