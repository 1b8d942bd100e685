//! Checks shared by the test binaries.

#![allow(dead_code, clippy::unwrap_used)]

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, UpdateVersion};

/// Conditional puts through the adapter: `Create` refuses an existing
/// object (and leaves its envelope alone), `Update` needs the current
/// entity tag.
pub(crate) async fn conditional_puts(store: &dyn ObjectStore) {
    let path = Path::from("cond");
    let v1 = store
        .put_opts(&path, "a".into(), PutMode::Create.into())
        .await
        .unwrap();
    let e = store
        .put_opts(&path, "b".into(), PutMode::Create.into())
        .await
        .unwrap_err();
    assert!(
        matches!(e, object_store::Error::AlreadyExists { .. }),
        "{e}"
    );
    let got = store.get(&path).await.unwrap();
    assert_eq!(got.meta.e_tag, v1.e_tag);
    assert_eq!(got.bytes().await.unwrap(), "a");
    let v2 = store
        .put_opts(&path, "c".into(), PutMode::Update(v1.clone().into()).into())
        .await
        .unwrap();
    let e = store
        .put_opts(&path, "d".into(), PutMode::Update(v1.into()).into())
        .await
        .unwrap_err();
    assert!(matches!(e, object_store::Error::Precondition { .. }), "{e}");
    assert_eq!(store.get(&path).await.unwrap().bytes().await.unwrap(), "c");
    let mode = PutMode::Update(UpdateVersion {
        e_tag: v2.e_tag.clone(),
        version: None,
    });
    store
        .put_opts(&path, "e".into(), mode.into())
        .await
        .unwrap();
    assert_eq!(store.get(&path).await.unwrap().bytes().await.unwrap(), "e");
    store.delete(&path).await.unwrap();
}
