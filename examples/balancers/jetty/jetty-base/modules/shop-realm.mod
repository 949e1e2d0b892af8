# The example shop's login realm. See examples/balancers/jetty/README.md.

[description]
A HashLoginService named "Tether shop" (the realm-name in the shop's web.xml)
with the users and roles of etc/shop-realm.properties.

[tags]
security

[depends]
security

[xml]
etc/shop-realm.xml
