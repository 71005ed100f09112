//! Files as DataFusion sources and as destinations, over every file store (S3, GCS,
//! Azure, HTTP, SFTP, local folders) through [`connectors::files::FileStore`].
